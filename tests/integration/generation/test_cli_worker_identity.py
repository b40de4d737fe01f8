"""One output per request: ``onexgen generate`` writes what a worker publishes, byte for byte.

A real worker (real Kafka and Postgres, an empty model store) answers outside requests of
every node type; ``onexgen generate --out`` (the CLI's ``main``) runs with the same
``ONEXGEN_*`` environment. Their files
must be identical, README and contract included: those carry the detected patterns (the
requests were chosen so that most have some) and the template version, and the mixin gate
runs in both.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import orjson
import pytest

from onexgen.cli.main import main
from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import WorkerProcess, scratch_database
from tests.harness.kafka import collect, produce

pytestmark = pytest.mark.integration

OUTSIDE = Path(__file__).parent / "data" / "outside_requests.json"
CHOSEN = ("outside-05", "outside-07", "outside-14", "outside-16")
"""Every node type, each with a description the shipped detector finds a pattern in (so
the identity covers detection; re-pick when a retrained model stops finding one)."""


@pytest.mark.timeout(900)
async def test_generate_cli_and_worker_give_byte_identical_packages(
        kafka_bootstrap: str, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [r for r in json.loads(OUTSIDE.read_text()) if r["request_id"] in CHOSEN]
    tag = uuid.uuid4().hex[:8]
    async with scratch_database(database_url, "identity") as db_url:
        worker = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url,
                               prefix=f"ident{tag}", log_file=tmp_path / "worker.log")
        worker.start(timeout_s=300)  # a loaded CI machine: the pool trains its models first
        try:
            topics = TopicNames(f"ident{tag}")
            await produce(kafka_bootstrap, topics.requests,
                          [(r["request_id"].encode(), orjson.dumps(r), []) for r in requests])
            records = await collect(kafka_bootstrap, topics.results,
                                    until=lambda rs: len(rs) >= len(requests), timeout_s=180)
        finally:
            assert worker.stop() == 0, worker.stderr_path.read_text()[-3000:]
    published = {r.request_id: r for r in
                 (GenerationResult.model_validate_json(rec.value) for rec in records)}
    for key, value in worker.env.items():
        if key.startswith("ONEXGEN_"):
            monkeypatch.setenv(key, value)
    with_patterns = 0
    for request in requests:
        result = published[request["request_id"]]
        assert result.status is ResultStatus.SUCCEEDED, result.error
        assert result.package is not None
        with_patterns += bool(result.patterns)
        path = tmp_path / f"{request['request_id']}.json"
        path.write_bytes(orjson.dumps(request))
        out = tmp_path / "cli" / request["request_id"]
        code = await asyncio.to_thread(main, ["generate", str(path), "--out", str(out)])
        assert code == 0, request["request_id"]
        written = {p.relative_to(out / result.package).as_posix(): p.read_text()
                   for p in (out / result.package).rglob("*") if p.is_file()}
        assert written == {f.path: f.content for f in result.files}, request["request_id"]
    assert with_patterns >= 3
