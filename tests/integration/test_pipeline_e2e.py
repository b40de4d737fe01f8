"""End to end through a real worker process, the real broker and the real database."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import WorkerProcess, scratch_database, wait_for_count
from tests.harness.kafka import Outgoing, collect, header, produce

pytestmark = pytest.mark.integration

NODE_MIXINS = {
    "effect": [["HealthCheck", "Metrics"], ["Retry", "Timeout", "LogData"], []],
    "compute": [["HealthCheck"], ["Validation", "Metrics"], []],
    "reducer": [["Metrics"], ["Caching", "HealthCheck"], []],
    "orchestrator": [["EventBus", "Retry"], ["Timeout"], []],
}


def make_request(i: int, tag: str) -> dict[str, object]:
    node_type = list(NODE_MIXINS)[i % 4]
    mixins = NODE_MIXINS[node_type][i % 3]
    return {
        "request_id": f"{tag}-{i}",
        "node_type": node_type,
        "name": f"Thing{i}",
        "domain": "testing",
        "description": f"Request {i}: it's a \"quoted\" description\nwith a newline",
        "operations": [{"name": "do_work", "description": "does the work"},
                       {"name": f"step_{i % 5}", "description": ""}],
        "mixins": mixins,
    }


async def lines_containing(path: Path, needle: bytes, timeout_s: float = 10.0) -> list[dict]:  # type: ignore[type-arg]
    """JSON log lines mentioning ``needle``; waits for the logger's buffered writes."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        text = await asyncio.to_thread(path.read_bytes)
        found = [orjson.loads(line) for line in text.splitlines() if needle in line]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def worker(kafka_bootstrap: str, database_url: str,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkerProcess]:
    async with scratch_database(database_url, "e2e") as db_url:
        log_file = tmp_path_factory.mktemp("worker") / "worker.log"
        proc = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url,
                             prefix=f"e2e{uuid.uuid4().hex[:8]}", log_file=log_file,
                             log_level="DEBUG")
        proc.start()
        try:
            yield proc
        finally:
            assert proc.stop() == 0, proc.stderr_path.read_text()[-3000:]


def topics_of(worker: WorkerProcess) -> TopicNames:
    return TopicNames(worker.env["ONEXGEN_TOPIC_PREFIX"])


async def test_pipeline_with_200_requests_returns_200_compiling_results(
        worker: WorkerProcess, kafka_bootstrap: str) -> None:
    tag = uuid.uuid4().hex[:8]
    topics = topics_of(worker)
    count_sql = ("SELECT count(*) FROM event_processing_metrics WHERE success AND event_source = "
                 f"'{topics.requests}'")
    before = await wait_for_count(worker.env["ONEXGEN_DATABASE_URL"], count_sql, 0)
    requests = [make_request(i, tag) for i in range(200)]
    await produce(kafka_bootstrap, topics.requests,
                  [(str(r["request_id"]).encode(), orjson.dumps(r), []) for r in requests])

    def mine(records: list) -> dict[str, GenerationResult]:  # type: ignore[type-arg]
        out = {}
        for rec in records:
            result = GenerationResult.model_validate_json(rec.value)
            if result.request_id.startswith(tag):
                out[result.request_id] = result
        return out

    records = await collect(kafka_bootstrap, topics.results,
                            until=lambda rs: len(mine(rs)) >= 200, timeout_s=120)
    results = mine(records)
    assert len(results) == 200
    for result in results.values():
        assert result.status is ResultStatus.SUCCEEDED, (result.request_id, result.error)
        assert any(f.path.endswith("node.py") for f in result.files)
        assert any(f.path.endswith("contract.yaml") for f in result.files)
        for f in result.files:
            assert hashlib.sha256(f.content.encode()).hexdigest() == f.sha256
            if f.path.endswith(".py"):
                compile(f.content, f.path, "exec")

    # Each request's processing lands as one keyed row in event_processing_metrics.
    rows = await wait_for_count(worker.env["ONEXGEN_DATABASE_URL"], count_sql, before + 200)
    assert rows == before + 200


async def test_malformed_messages_go_to_dlq_while_valid_neighbours_succeed(
        worker: WorkerProcess, kafka_bootstrap: str) -> None:
    tag = uuid.uuid4().hex[:8]
    topics = topics_of(worker)
    bad_values = [
        b"not json at all",
        b'{"request_id": "x", "node_type": "teleporter", "name": "A", "domain": "d"}',
        b'{"request_id": "' + tag.encode() + b'-bad", "node_type": "effect", "name": "class",'
        b' "domain": "d"}',
        b"[1, 2, 3]",
        b"\xff\xfe\x00garbage",
    ]
    messages: list[Outgoing] = []
    for i in range(30):
        req = make_request(i, tag)
        messages.append((str(req["request_id"]).encode(), orjson.dumps(req),
                         [("correlation-id", f"{tag}-ok-{i}".encode())]))
        if i % 6 == 0:
            bad = bad_values[i // 6]
            messages.append((None, bad, [("correlation-id", f"{tag}-bad-{i}".encode())]))
    await produce(kafka_bootstrap, topics.requests, messages)

    def dead(records: list) -> list:  # type: ignore[type-arg]
        return [r for r in records if (header(r, "correlation-id") or b"").startswith(
            f"{tag}-bad".encode())]

    dlq = await collect(kafka_bootstrap, topics.dlq, until=lambda rs: len(dead(rs)) >= 5,
                        timeout_s=60)
    letters = dead(dlq)
    assert sorted(r.value for r in letters) == sorted(bad_values)
    for r in letters:
        assert header(r, "x-error"), "a dead letter names its error"
        assert header(r, "x-origin-topic") == topics.requests.encode()
        assert int(header(r, "x-origin-offset") or b"-1") >= 0
        assert header(r, "x-error-type") in {b"invalid_json", b"schema_violation",
                                             b"invalid_message"}
    reasons = b" ".join(header(r, "x-error") or b"" for r in letters)
    assert b"node_type" in reasons and b"keyword" in reasons

    results = await collect(
        kafka_bootstrap, topics.results, timeout_s=60,
        until=lambda rs: sum(1 for r in rs if (r.key or b"").startswith(tag.encode())) >= 30)
    ok = {r.key for r in results if (r.key or b"").startswith(tag.encode())}
    assert len(ok) == 30


async def test_correlation_id_travels_from_request_to_result_and_logs(
        worker: WorkerProcess, kafka_bootstrap: str) -> None:
    tag = uuid.uuid4().hex[:8]
    topics = topics_of(worker)
    cid = f"cid-{tag}"
    req = make_request(1, tag)
    await produce(kafka_bootstrap, topics.requests,
                  [(str(req["request_id"]).encode(), orjson.dumps(req),
                    [("correlation-id", cid.encode())])])
    records = await collect(kafka_bootstrap, topics.results, timeout_s=60,
                            until=lambda rs: any(r.key == str(req["request_id"]).encode()
                                                 for r in rs))
    mine = [r for r in records if r.key == str(req["request_id"]).encode()]
    assert mine and header(mine[0], "correlation-id") == cid.encode()
    assert GenerationResult.model_validate_json(mine[0].value).correlation_id == cid
    found = await lines_containing(Path(worker.log_file), cid.encode())
    ours = [line for line in found if str(line.get("logger", "")).startswith("onexgen")]
    assert ours, "the worker's log lines for the message carry its correlation id"
    assert all(line["correlation_id"] == cid for line in ours)
    assert any(line["event"] == "generated" for line in ours)


async def test_worker_metrics_endpoint_counts_what_is_on_the_topics(
        worker: WorkerProcess, kafka_bootstrap: str) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    topics = topics_of(worker)
    await produce(kafka_bootstrap, topics.requests,
                  [(b"m-1", orjson.dumps(make_request(0, "metrics")), [])])
    results = await collect(kafka_bootstrap, topics.results, timeout_s=30,
                            until=lambda rs: any(r.key == b"metrics-0" for r in rs))
    letters = await collect(kafka_bootstrap, topics.dlq, timeout_s=2, until=lambda rs: False)
    requests = await collect(kafka_bootstrap, topics.requests, timeout_s=2,
                             until=lambda rs: False)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(worker.metrics())
               for s in family.samples}
    consumed = samples[("onexgen_messages_consumed_total", (("topic", topics.requests),))]
    assert consumed == len(requests)
    succeeded = samples[("onexgen_results_produced_total", (("status", "succeeded"),))]
    assert succeeded == len(results)
    dead = sum(v for (name, _), v in samples.items() if name == "onexgen_dead_letters_total")
    assert dead == len(letters)
    assert samples[("onexgen_batch_size_messages_count", ())] >= 1


async def test_detected_patterns_shape_the_package_and_appear_in_the_result(
        worker: WorkerProcess, kafka_bootstrap: str) -> None:
    topics = topics_of(worker)
    rid = f"pat-{uuid.uuid4().hex[:8]}"
    req = {"request_id": rid, "node_type": "effect", "name": "OrderMailer", "domain": "shop",
           "description": "Sends an e-mail to the customer when an order ships; retries with "
                          "exponential backoff when the mail server is down.",
           "operations": [{"name": "send_shipping_email", "description": "e-mail the buyer"}],
           "mixins": ["Retry"]}
    await produce(kafka_bootstrap, topics.requests, [(rid.encode(), orjson.dumps(req), [])])
    records = await collect(kafka_bootstrap, topics.results, timeout_s=60,
                            until=lambda rs: any(r.key == rid.encode() for r in rs))
    result = GenerationResult.model_validate_json(
        next(r.value for r in records if r.key == rid.encode()))
    names = {p.name for p in result.patterns}
    assert {"notification", "resilience"} <= names
    assert "Retry" not in result.suggested_mixins  # already requested
    contract = next(f.content for f in result.files if f.path.endswith("contract.yaml"))
    readme = next(f.content for f in result.files if f.path.endswith("README.md"))
    assert "name: \"notification\"" in contract
    assert "## Detected patterns" in readme and "`resilience`" in readme


async def test_worker_runs_on_uvloop_by_default(worker: WorkerProcess) -> None:
    found = await lines_containing(Path(worker.log_file), b'"worker_ready"')
    assert [line["event_loop"] for line in found] == ["uvloop"]


async def test_a_worker_started_where_there_is_no_local_directory_runs(
        kafka_bootstrap: str, database_url: str, tmp_path: Path) -> None:
    """A deployment directory has no ``.local``: the worker makes its Faust data directory
    there (it used to stop at start) and generates."""
    here = tmp_path / "deploy"
    here.mkdir()
    tag = uuid.uuid4().hex[:8]
    async with scratch_database(database_url, "cwd") as db_url:
        proc = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url,
                             prefix=f"cwd{tag}", log_file=tmp_path / "worker.log", cwd=here)
        proc.start()
        try:
            topics = topics_of(proc)
            request = make_request(0, tag)
            await produce(kafka_bootstrap, topics.requests,
                          [(str(request["request_id"]).encode(), orjson.dumps(request), [])])
            records = await collect(kafka_bootstrap, topics.results,
                                    until=lambda rs: len(rs) >= 1, timeout_s=60)
            result = GenerationResult.model_validate_json(records[0].value)
            assert (result.request_id, result.status) == (request["request_id"],
                                                          ResultStatus.SUCCEEDED)
        finally:
            assert proc.stop() == 0, proc.stderr_path.read_text()[-3000:]
    assert (here / ".local" / "faust").is_dir()
