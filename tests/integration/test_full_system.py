"""The whole system at once: one real worker process, the real broker and the real database.

``test_mixed_workload_runs_through_every_agent`` drives every agent of one
``onexgen worker`` together: requests of all four node types (traced with a
W3C ``traceparent``), feedback of both kinds, and then a fault - a burst of
malformed requests - that breaks ``event_success_rate`` so the monitor fires
the rule and the alert-manager agent delivers it to a local webhook. It checks
the results, the learned updates in Postgres (feedback rows, matrix, model
versions), the alert at the receiver, ``/dashboard.json``, the Postgres views,
the dead letters, the JSON logs and the exported spans.

The rules are the shipped ``onexgen/alerting/defaults/alert_rules.yaml`` event rules with ``for``
shortened to 1 s; the alert-manager config is the shipped
``onexgen/alerting/defaults/alertmanager.yaml`` (same receivers and routes, the webhook URL
pointed at the local sink) with its waits shortened and its mute time interval removed,
so that the test cannot fall into it.

``test_batch_processor_spans_form_the_expected_tree`` is the in-process half
of the tracing evidence: the real batch processor, a real generation pool and
the real broker, with OpenTelemetry's in-memory exporter.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import yaml
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from onexgen.alerting.config import DEFAULT_MANAGER_FILE
from onexgen.alerting.rules import DEFAULT_RULES_FILE
from onexgen.generation.batch import BatchProcessor
from onexgen.generation.pool import GenerationPool
from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.tracing import Tracing
from onexgen.settings import Settings, TopicNames
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import InboundMessage
from onexgen.streams.topics import ensure_topics
from tests.harness import WorkerProcess
from tests.harness.kafka import collect, header, produce
from tests.harness.receivers import HttpSink, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NODE_MIXINS = {"effect": ["Retry", "HealthCheck"], "compute": ["Validation", "Metrics"],
               "reducer": ["Caching"], "orchestrator": ["EventBus", "Retry"]}
DESCRIPTIONS = ("Creates, reads, updates and deletes user records in the store.",
                "Aggregates order events into daily totals per customer.",
                "Validates and transforms incoming payment payloads.",
                "Coordinates the checkout workflow across inventory and billing.")


def traceparent() -> tuple[str, bytes]:
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return trace_id, f"00-{trace_id}-{span_id}-01".encode()


def request(i: int, tag: str) -> dict[str, Any]:
    node_type = list(NODE_MIXINS)[i % 4]
    return {"request_id": f"{tag}-{i}", "node_type": node_type, "name": f"Thing{i}",
            "domain": "fullsystem", "description": DESCRIPTIONS[i % 4],
            "operations": [{"name": "do_work", "description": "does the work"}],
            "mixins": NODE_MIXINS[node_type] if i % 3 else []}


def write_configs(directory: Path, webhook_url: str) -> tuple[Path, Path]:
    """The shipped rules and alert-manager config with test-sized windows."""
    rules = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    rules["evaluation_interval_s"] = 0.2
    rules["resend_interval_s"] = 2
    rules["rules"] = [dict(r, **{"for": 1}) for r in rules["rules"]
                      if r["metric"] == "event_success_rate"]
    manager = yaml.safe_load(DEFAULT_MANAGER_FILE.read_text())
    manager["route"].update(group_wait="200ms", group_interval="1s")
    for route in manager["route"]["routes"]:
        route.pop("mute_time_intervals", None)  # the test must not fall into the window
    for receiver in manager["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook_url
    extras = {"tick": "100ms", "silence_refresh": "500ms", "retry_initial": "100ms",
              "retry_max": "1s"}
    rules_file, manager_file = directory / "rules.yaml", directory / "alertmanager.yaml"
    rules_file.write_text(yaml.safe_dump(rules))
    manager_file.write_text(yaml.safe_dump(manager))
    (directory / "extras.yaml").write_text(yaml.safe_dump(extras))
    return rules_file, manager_file


@dataclass
class System:
    worker: WorkerProcess
    hook: HttpSink
    database_url: str
    topics: TopicNames
    bootstrap: str


@pytest.fixture
async def system(kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path,
                 unique_prefix: str) -> AsyncIterator[System]:
    hook = HttpSink()
    await hook.start()
    rules_file, manager_file = write_configs(tmp_path, hook.url("/hook"))
    worker = WorkerProcess(
        bootstrap=kafka_bootstrap, database_url=fresh_database_url, prefix=unique_prefix,
        log_file=tmp_path / "worker.log", log_level="DEBUG", extra_env={
            "ONEXGEN_ALERT_RULES_FILE": str(rules_file),
            "ONEXGEN_ALERTMANAGER_CONFIG": str(manager_file),
            "ONEXGEN_ALERTING_EXTRAS": str(tmp_path / "extras.yaml"),
            "ONEXGEN_MIXIN_RETRAIN_AFTER": "4",
            "ONEXGEN_TRACING_EXPORTER": "console",
            "ONEXGEN_TRACING_EXPORT_DELAY_MS": "100",
        })
    await asyncio.to_thread(worker.start)
    try:
        yield System(worker, hook, fresh_database_url, TopicNames(unique_prefix),
                     kafka_bootstrap)
    finally:
        code = await asyncio.to_thread(worker.stop)
        await hook.stop()
        assert code == 0, worker.stderr_path.read_text()[-3000:]


async def eventually(check: Callable[[], Awaitable[Any]], what: str,
                     timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.3)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return orjson.loads(resp.read())


async def test_mixed_workload_runs_through_every_agent(system: System) -> None:
    s, tag = system, uuid.uuid4().hex[:8]
    # --- requests of every node type, each in its own producer trace -------------------
    reqs = [request(i, tag) for i in range(24)]
    traces = {r["request_id"]: traceparent() for r in reqs}
    await produce(s.bootstrap, s.topics.requests, [
        (r["request_id"].encode(), orjson.dumps(r),
         [("correlation-id", f"cid-{r['request_id']}".encode()),
          ("traceparent", traces[r["request_id"]][1])]) for r in reqs])
    records = await collect(s.bootstrap, s.topics.results, timeout_s=120, until=lambda rs: len(
        {r.key for r in rs if (r.key or b"").startswith(tag.encode())}) >= len(reqs))
    results = {r.key.decode(): r for r in records if (r.key or b"").startswith(tag.encode())}
    assert len(results) == len(reqs)
    by_type: dict[str, set[ResultStatus]] = {}
    for rid, rec in results.items():
        result = GenerationResult.model_validate_json(rec.value)
        assert result.status in (ResultStatus.SUCCEEDED, ResultStatus.REJECTED), result.error
        by_type.setdefault(str(result.node_type), set()).add(result.status)
        assert header(rec, "correlation-id") == f"cid-{rid}".encode()
        trace_id, sent = traces[rid]
        got = (header(rec, "traceparent") or b"").decode().split("-")
        assert got[1] == trace_id, "the result continues the producer's trace"
        assert got[2] != sent.decode().split("-")[2], "its parent is the worker's span"
    assert all(ResultStatus.SUCCEEDED in st for st in by_type.values()) and len(by_type) == 4

    # --- feedback of both kinds -------------------------------------------------------
    feedback: list[dict[str, Any]] = [
                {"kind": "pattern", "request_id": f"{tag}-{i}", "pattern_name": "crud",
                 "detected_confidence": 0.8, "feedback_type": "correct" if i % 2 else
                 "incorrect", "actual_pattern": None if i % 2 else "aggregation"}
                for i in range(0, 8)]
    feedback += [{"kind": "mixin", "node_type": nt, "mixins": mixins, "success": ok,
                  "request_id": f"{tag}-mixin-{j}"}
                 for j, (nt, mixins, ok) in enumerate([
                     ("effect", ["Retry", "Timeout"], True), ("compute", ["Caching"], True),
                     ("reducer", ["Metrics", "Caching"], False),
                     ("orchestrator", ["EventBus", "Retry"], True),
                     ("effect", ["HealthCheck", "Metrics"], True),
                     ("compute", ["Validation", "Metrics"], False)])]
    await produce(s.bootstrap, s.topics.feedback, [(None, orjson.dumps(f), []) for f in feedback])
    conn = await asyncpg.connect(s.database_url)
    try:
        async def learned() -> bool:
            pattern = await conn.fetchval(
                "SELECT count(*) FROM pattern_feedback_log WHERE request_id LIKE $1", f"{tag}-%")
            mixin = await conn.fetchval("SELECT count(*) FROM mixin_feedback_events "
                                        "WHERE request_id LIKE $1", f"{tag}-mixin-%")
            versions = await conn.fetchval(
                "SELECT count(*) FROM model_versions WHERE kind = 'mixins'")
            return bool(pattern == 8 and mixin == 6 and versions >= 2)

        await eventually(learned, "8 pattern rows, 6 mixin events and a retrained mixin model",
                         timeout_s=120)
        pairs = await conn.fetch("SELECT mixin_a, mixin_b, success_count, failure_count "
                                 "FROM mixin_compatibility_matrix")
        assert any(p["failure_count"] > 0 for p in pairs) and len(pairs) >= 5
        analysis = await conn.fetch("SELECT * FROM pattern_feedback_analysis "
                                    "WHERE pattern_name = 'crud'")
        assert {r["feedback_type"] for r in analysis} == {"correct", "incorrect"}
        summary = await conn.fetch("SELECT * FROM mixin_compatibility_summary")
        assert {r["node_type"] for r in summary} >= {"effect", "compute", "reducer"}

        # --- the fault: a burst of malformed requests breaks event_success_rate --------
        bad = [(None, b'{"request_id": "' + f"{tag}-bad-{i}".encode() + b'", "node_type"',
                [("traceparent", traceparent()[1])]) for i in range(200)]
        await produce(s.bootstrap, s.topics.requests, bad)
        await wait_until(lambda: any(
            a["labels"]["alertname"] == "event_success_rate_critical" and a["status"] == "firing"
            for body in s.hook.bodies("/hook") for a in body["alerts"]), 60,
            "event_success_rate_critical firing at the webhook")
        body = next(b for b in s.hook.bodies("/hook")
                    if b["alerts"][0]["labels"]["alertname"].startswith("event_success_rate"))
        assert body["alerts"][0]["labels"]["service"] == "onexgen"

        dashboard = await asyncio.to_thread(get_json, f"{s.worker.url}/dashboard.json")
        assert dashboard["success_rate"] is not None and dashboard["success_rate"] < 0.9
        assert any(a["rule"] == "event_success_rate_critical" and a["state"] == "firing"
                   for a in dashboard["alerts"])
        assert dashboard["totals"]["dead_lettered"] >= 200
        assert dashboard["totals"]["messages"] >= 224

        async def health_counts() -> bool:
            row = await conn.fetchrow("SELECT sum(total_events) AS n, sum(failures) AS f "
                                      "FROM event_processing_health")
            return row is not None and (row["n"] or 0) >= 224 and (row["f"] or 0) >= 200

        await eventually(health_counts, "224 events (200 failed) in event_processing_health")
    finally:
        await conn.close()

    letters = await collect(s.bootstrap, s.topics.dlq, timeout_s=30, until=lambda rs: sum(
        1 for r in rs if f"{tag}-bad".encode() in (r.value or b"")) >= 200)
    mine = [r for r in letters if f"{tag}-bad".encode() in (r.value or b"")]
    assert len(mine) == 200
    assert all(len((header(r, "traceparent") or b"").split(b"-")) == 4 for r in mine)

    # --- logs carry the trace id next to the correlation id; spans were exported ------
    rid = f"{tag}-1"
    trace_id = traces[rid][0]

    def generated_line() -> list[dict[str, Any]]:
        lines = [orjson.loads(line) for line in s.worker.log_file.read_bytes().splitlines()
                 if trace_id.encode() in line]
        return [x for x in lines if x.get("event") == "generated"]

    await wait_until(lambda: bool(generated_line()), 10, "the generated log line")
    line = generated_line()[0]
    assert line["correlation_id"] == f"cid-{rid}" and line["trace_id"] == trace_id

    def spans() -> list[dict[str, Any]]:
        text = s.worker.stderr_path.read_bytes().splitlines()
        return [orjson.loads(x) for x in text
                if x.startswith(b"{") and f"0x{trace_id}".encode() in x]

    await wait_until(lambda: {"consume", "render", "validate", "produce", "persist"} <= {
        x["name"] for x in spans()}, 15, "the request's spans on the console exporter")


async def consume(bootstrap: str, topic: str, count: int) -> list[InboundMessage]:
    """The first ``count`` records of ``topic`` as the pipeline sees them."""
    records = await collect(bootstrap, topic, timeout_s=30, until=lambda rs: len(rs) >= count)
    return [InboundMessage(r.topic, r.partition, r.offset, r.key, r.value,
                           [(k, bytes(v)) for k, v in r.headers or ()], r.timestamp)
            for r in records[:count]]


async def test_batch_processor_spans_form_the_expected_tree(
        kafka_bootstrap: str, unique_prefix: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix,
                        app_id=f"{unique_prefix}-app")
    await ensure_topics(settings)
    tag = uuid.uuid4().hex[:8]
    traced = [request(i, tag) for i in range(4)]
    producer_traces = [traceparent() for _ in traced]
    batch = [(r["request_id"].encode(), orjson.dumps(r), [("traceparent", tp)])
             for r, (_, tp) in zip(traced, producer_traces, strict=True)]
    batch.append((None, b"not json", [("traceparent", producer_traces[0][1])]))
    batch.append((b"untraced", orjson.dumps(request(9, tag)), []))
    await produce(kafka_bootstrap, settings.topics.requests, batch)
    messages = await consume(kafka_bootstrap, settings.topics.requests, len(batch))

    exporter = InMemorySpanExporter()
    tracing = Tracing.create(exporter, synchronous=True)
    pool = GenerationPool(2, shared_cache=False, registry=CollectorRegistry())
    publisher = Publisher(settings)
    await publisher.start()
    try:
        processor = BatchProcessor(topics=settings.topics, pool=pool, publisher=publisher,
                                   metrics=PipelineMetrics(CollectorRegistry()), tracing=tracing)
        # The agent hands the pool its next batch at on_generated: once, before publishing.
        order: list[str] = []
        publish = publisher.publish

        async def publish_in_order(records: Any) -> Any:
            order.append("publish")
            return await publish(records)

        publisher.publish = publish_in_order  # type: ignore[method-assign]
        report = await processor.process(messages, on_generated=lambda: order.append("pool"))
    finally:
        await publisher.stop()
        await pool.stop()
    assert report.count("dead_lettered") == 1 and len(report.outcomes) == 6
    assert order == ["pool", "publish"]

    spans = exporter.get_finished_spans()
    consumes = [x for x in spans if x.name == "consume"]
    assert len(consumes) == 6
    for consume_span in consumes:
        kids = {x.name for x in spans if x.parent is not None
                and x.parent.span_id == consume_span.context.span_id}
        attributes = consume_span.attributes or {}
        if attributes.get("onexgen.status") == "dead_lettered":
            assert kids == {"produce", "persist"}, kids  # never reached the engine's stages
        else:
            assert kids == {"predict", "detect", "render", "validate", "produce", "persist"}, kids
    produce_ids = {(x.context.trace_id, x.context.span_id) for x in spans if x.name == "produce"}
    for m in messages:
        (span,) = [c for c in consumes if c.attributes is not None
                   and c.attributes["messaging.kafka.offset"] == m.offset
                   and c.attributes["messaging.destination.partition.id"] == str(m.partition)]
        sent = m.header("traceparent")
        if sent is None:
            assert span.parent is None, "a request without traceparent starts a new trace"
            continue
        _, trace_id, parent_id, _ = sent.decode().split("-")
        assert format(span.context.trace_id, "032x") == trace_id
        assert span.parent is not None and format(span.parent.span_id, "016x") == parent_id

    results = await collect(kafka_bootstrap, settings.topics.results, timeout_s=30,
                            until=lambda rs: len(rs) >= 5)
    letters = await collect(kafka_bootstrap, settings.topics.dlq, timeout_s=30,
                            until=lambda rs: len(rs) >= 1)
    for rec in [*results, *letters]:
        _, trace_hex, span_hex, _ = (header(rec, "traceparent") or b"").decode().split("-")
        assert (int(trace_hex, 16), int(span_hex, 16)) in produce_ids
    by_key = {r.key: r for r in results}
    for r, (trace_id, _) in zip(traced, producer_traces, strict=True):
        got = (header(by_key[r["request_id"].encode()], "traceparent") or b"").decode()
        assert got.split("-")[1] == trace_id
    (letter,) = letters
    assert (header(letter, "traceparent") or b"").decode().split("-")[1] == producer_traces[0][0]
    feedback = await collect(kafka_bootstrap, settings.topics.feedback, timeout_s=5,
                             until=lambda rs: False)
    assert feedback and all(header(f, "traceparent") for f in feedback)
