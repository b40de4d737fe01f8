"""The batch processor's once-a-batch observability reads as one observation a request."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Histogram

from onexgen.generation.batch import BatchProcessor, BatchReport, MessageOutcome, event_rows
from onexgen.generation.job import JobOutcome
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import STAGE_BUCKETS, Monitor
from onexgen.settings import TopicNames
from onexgen.streams.records import InboundMessage, OutboundRecord

NOW_MS = 1_800_000_000_000.0


class _Pool:
    """Answers every item with a result whose render stage took 1..n ms."""

    async def run(self, items: Sequence[tuple[bytes | None, str]]) -> list[JobOutcome]:
        t = time.time_ns()
        return [JobOutcome("result", f"r{i}", "succeeded", b"{}", None, None, 2.0 + i,
                           stage_ns=(("render", t, t + (i + 1) * 1_000_000),))
                for i in range(len(items))]


class _Publisher:
    def __init__(self) -> None:
        self.records: list[OutboundRecord] = []

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        self.records += records


def _samples(registry: CollectorRegistry, name: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in registry.collect()
            for s in family.samples if s.name.startswith(name) and not s.name.endswith("_created")]


async def test_process_when_batch_done_observes_each_request_once_as_per_request_calls() -> None:
    registry = CollectorRegistry()
    monitor = Monitor(registry, clock=lambda: 100.0)
    processor = BatchProcessor(topics=TopicNames("t"), pool=_Pool(), publisher=_Publisher(),  # type: ignore[arg-type]  # fakes
                               metrics=PipelineMetrics(registry), monitor=monitor,
                               clock_ms=lambda: NOW_MS, tracing=False)
    messages = [InboundMessage("t.requests", 0, i, None, b"{}", [],
                               int(NOW_MS) - 7 * i - 1) for i in range(12)]
    report = await processor.process(messages)

    expected = CollectorRegistry()  # the same figures, one observe a request
    one = PipelineMetrics(expected)
    stage = Histogram("onexgen_stage_duration_seconds", "x", ["stage"], registry=expected,
                      buckets=STAGE_BUCKETS)
    for i, o in enumerate(report.outcomes):
        one.request_duration.observe((o.queue_wait_ms + report.duration_ms) / 1000)
        one.queue_wait.observe(o.queue_wait_ms / 1000)
        stage.labels(stage="render").observe((i + 1) * 1_000_000 / 1e9)
    for name in ("onexgen_request_duration_seconds", "onexgen_queue_wait_duration_seconds"):
        assert _samples(registry, name) == _samples(expected, name)
    render = [s for s in _samples(registry, "onexgen_stage_duration_seconds")
              if s[1].get("stage") == "render"]
    assert render == _samples(expected, "onexgen_stage_duration_seconds")
    latencies = sorted(o.queue_wait_ms + report.duration_ms for o in report.outcomes)
    assert monitor.value("event_latency_p50_ms") == (latencies[5] + latencies[6]) / 2
    assert monitor.value("generation_duration_ms") == sum(range(1, 13)) / 12


def test_event_rows_when_timestamps_repeat_give_each_row_its_own_time() -> None:
    stamps = [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_000]
    report = BatchReport(outcomes=[
        MessageOutcome(InboundMessage("t.requests", 0, i, None, b"", [], ts), "c", "succeeded",
                       None, 1.0, 0.0, 1) for i, ts in enumerate(stamps)])
    rows = event_rows(report)
    assert [r.created_at for r in rows] == [datetime.fromtimestamp(ts / 1000, UTC)
                                           for ts in stamps]
    assert [r.event_key for r in rows] == [f"t.requests:0:{i}" for i in range(4)]
