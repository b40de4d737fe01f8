"""A running worker on the real broker and database, with a template overlay edited under it.

One worker, one overlay directory (``ONEXGEN_TEMPLATE_DIRS``), in steps: the overlay
shapes the results; an edit changes the next results (new template version, output
cache misses, then hits for repeats); a broken overlay template fails exactly the
requests that use it, with its file and line, while the others succeed and nothing is
dead-lettered; removing the directory restores the built-ins. The worker then stops
cleanly.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from onexgen.generation.render import Renderer
from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import WorkerProcess, scratch_database
from tests.harness.kafka import collect, produce

pytestmark = pytest.mark.integration

README = "# {{ class_name }}\n\nOwner: {owner} of `{{ domain }}`.\n"
BROKEN_EFFECT = ('{% extends "node_base.py.j2" %}\n{% block op_body %}\n'
                 "        return {{ no_such_variable }}\n{% endblock %}\n")


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("overlay")
    (directory / "README.md.j2").write_text(README.replace("{owner}", "alpha"))
    return directory


@pytest.fixture(scope="module")
async def worker(kafka_bootstrap: str, database_url: str, overlay: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkerProcess]:
    async with scratch_database(database_url, "overlay") as db_url:
        proc = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url,
                             prefix=f"ovl{uuid.uuid4().hex[:8]}",
                             log_file=tmp_path_factory.mktemp("worker") / "worker.log",
                             extra_env={"ONEXGEN_TEMPLATE_DIRS": str(overlay)})
        await asyncio.to_thread(proc.start)
        try:
            yield proc
        finally:
            assert await asyncio.to_thread(proc.stop) == 0, proc.stderr_path.read_text()[-3000:]


def _request(rid: str, node_type: str = "compute") -> dict[str, object]:
    return {"request_id": rid, "node_type": node_type, "name": "PriceIndex",
            "domain": "pricing", "description": "Computes the index."}


async def _results(bootstrap: str, worker: WorkerProcess,
                   requests: list[dict[str, object]]) -> dict[str, GenerationResult]:
    topics = TopicNames(worker.env["ONEXGEN_TOPIC_PREFIX"])
    ids = {str(r["request_id"]) for r in requests}
    await produce(bootstrap, topics.requests,
                  [(str(r["request_id"]).encode(), orjson.dumps(r), []) for r in requests])

    def mine(records: list) -> dict[str, GenerationResult]:  # type: ignore[type-arg]
        out = {}
        for record in records:
            result = GenerationResult.model_validate_json(record.value)
            if result.request_id in ids:
                out[result.request_id] = result
        return out

    records = await collect(bootstrap, topics.results, until=lambda rs: len(mine(rs)) == len(ids),
                            timeout_s=60)
    found = mine(records)
    assert set(found) == ids, f"missing results for {ids - set(found)}"
    return found


async def _one(bootstrap: str, worker: WorkerProcess, node_type: str = "compute"
               ) -> GenerationResult:
    rid = f"ovl-{uuid.uuid4().hex[:10]}"
    return (await _results(bootstrap, worker, [_request(rid, node_type)]))[rid]


def _readme(result: GenerationResult) -> str:
    return next(f.content for f in result.files if f.path == "README.md")


async def _until(bootstrap: str, worker: WorkerProcess, check: str,
                 node_type: str = "compute", timeout_s: float = 20.0) -> GenerationResult:
    """Send requests until a result's README (or error) holds ``check``; the overlay edit
    reaches the pool processes within their recheck interval."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await _one(bootstrap, worker, node_type)
        text = _readme(result) if result.files else (result.error or "")
        if check in text or time.monotonic() > deadline:
            assert check in text, f"not seen within {timeout_s}s: {text[-300:]}"
            return result
        await asyncio.sleep(0.3)


def _output_cache(worker: WorkerProcess) -> tuple[float, float]:
    """(hits, misses) of the rendered-output caches, summed over levels, from /metrics."""
    text = worker.metrics()

    def total(what: str) -> float:
        return sum(float(v) for v in re.findall(
            rf"^onexgen_output_cache_{what}_total\{{[^}}]*\}} (\S+)$", text, re.M))
    return total("hits"), total("misses")


async def _cache_after(worker: WorkerProcess, before: tuple[float, float],
                       hits: int, misses: int, timeout_s: float = 30.0) -> tuple[float, float]:
    """Wait until the pool's statistics (flushed every few seconds) show the lookups."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = await asyncio.to_thread(_output_cache, worker)
        grew = (now[0] - before[0], now[1] - before[1])
        if (grew[0] >= hits and grew[1] >= misses) or time.monotonic() > deadline:
            return grew
        await asyncio.sleep(0.5)


def _health_version(worker: WorkerProcess) -> str:
    try:
        with urllib.request.urlopen(f"{worker.url}/health", timeout=5) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:  # 503 when degraded: the body still reports
        body = exc.read()
    return str(orjson.loads(body)["checks"]["templates"]["template_version"])


async def _health_reports(worker: WorkerProcess, version: str | None,
                          timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = await asyncio.to_thread(_health_version, worker)
        if seen == version or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.3)


async def test_worker_overlay_edit_break_and_removal_follow_on_disk(
        worker: WorkerProcess, kafka_bootstrap: str, overlay: Path) -> None:
    builtin = Renderer().version

    first = await _until(kafka_bootstrap, worker, "Owner: alpha of `pricing`.")
    assert first.status is ResultStatus.SUCCEEDED and first.template_version != builtin
    assert first.template_version and "+overlay-0." in first.template_version

    # An edit while running: a new version, a miss, then hits for the same request body.
    settled = await _cache_after(worker, (0.0, 0.0), hits=0, misses=1)
    (overlay / "README.md.j2").write_text(README.replace("{owner}", "beta"))
    edited = await _until(kafka_bootstrap, worker, "Owner: beta of `pricing`.")
    assert edited.template_version not in (first.template_version, builtin)
    assert await _health_reports(worker, edited.template_version) == edited.template_version
    _, missed = await _cache_after(worker, settled, hits=0, misses=1)
    assert missed >= 1
    before = await asyncio.to_thread(_output_cache, worker)
    repeats = [await _one(kafka_bootstrap, worker) for _ in range(3)]
    assert {r.template_version for r in repeats} == {edited.template_version}
    assert {_readme(r) for r in repeats} == {_readme(edited)}
    hits, _ = await _cache_after(worker, before, hits=3, misses=0)
    assert hits >= 3

    # A broken overlay template: effect requests fail naming it, compute ones succeed.
    (overlay / "node_effect.py.j2").write_text(BROKEN_EFFECT)
    broken = await _until(kafka_bootstrap, worker, "no_such_variable", node_type="effect")
    assert broken.status is ResultStatus.FAILED and not broken.files
    assert f"{overlay / 'node_effect.py.j2'} line 3" in (broken.error or "")
    tag = uuid.uuid4().hex[:8]
    mixed = [_request(f"{tag}-{i}", "effect" if i % 2 else "compute") for i in range(10)]
    results = await _results(kafka_bootstrap, worker, mixed)
    for request in mixed:
        result = results[str(request["request_id"])]
        expected = (ResultStatus.FAILED if request["node_type"] == "effect"
                    else ResultStatus.SUCCEEDED)
        assert result.status is expected, result.error
    topics = TopicNames(worker.env["ONEXGEN_TOPIC_PREFIX"])
    dead = await collect(kafka_bootstrap, topics.dlq, until=lambda rs: False, timeout_s=2)
    assert not dead, [d.value[:200] for d in dead]

    # Removing the overlay restores the built-ins (their version, their README).
    shutil.rmtree(overlay)
    restored = await _until(kafka_bootstrap, worker, "## Operations")
    assert restored.template_version == builtin and "Owner:" not in _readme(restored)
    assert await _health_reports(worker, builtin) == builtin
    effect = await _one(kafka_bootstrap, worker, "effect")
    assert effect.status is ResultStatus.SUCCEEDED, effect.error
