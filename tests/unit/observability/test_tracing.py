"""Trace context from Kafka headers, the span tree of a batch, and exporter selection.

The spans go to OpenTelemetry's real in-memory exporter through a synchronous
processor, so each test reads exactly what a collector would have received.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from onexgen.generation.job import JobOutcome
from onexgen.observability.tracing import (
    Tracing,
    configure_tracing,
    stage_timings,
)
from onexgen.settings import Settings
from onexgen.streams.records import InboundMessage

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01".encode()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Tracing:
    return Tracing.create(exporter, synchronous=True)


def message(offset: int, headers: list[tuple[str, bytes]] | None = None) -> InboundMessage:
    return InboundMessage("t.requests", 0, offset, b"k", b"{}", headers or [], 1_000)


def outcome(rid: str | None, duration_ms: float = 2.0, kind: str = "result") -> JobOutcome:
    return JobOutcome(kind, rid, "succeeded" if rid else "invalid", b"{}",  # type: ignore[arg-type]  # kind is one of the two literals
                      None if rid else "invalid_json", None, duration_ms)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_extract_with_traceparent_header_continues_the_producers_trace(
        tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    trace = tracing.batch([message(1, [("traceparent", TRACEPARENT)])])
    trace.end()
    (consume,) = exporter.get_finished_spans()
    assert format(consume.context.trace_id, "032x") == TRACE_ID
    assert consume.parent is not None and consume.parent.is_remote
    assert format(consume.parent.span_id, "016x") == PARENT_ID
    assert consume.kind is SpanKind.CONSUMER


@pytest.mark.parametrize("headers", [
    [], [("traceparent", b"garbage")], [("traceparent", b"00-" + b"0" * 32 + b"-" + b"1" * 16
                                         + b"-01")]])
def test_extract_without_usable_traceparent_starts_a_new_trace(
        tracing: Tracing, exporter: InMemorySpanExporter,
        headers: list[tuple[str, bytes]]) -> None:
    trace = tracing.batch([message(1, headers)])
    trace.end()
    (consume,) = exporter.get_finished_spans()
    assert consume.parent is None
    assert consume.context.trace_id != 0


def test_header_names_match_case_insensitively(tracing: Tracing) -> None:
    ctx = tracing.extract([("TraceParent", TRACEPARENT)])
    trace = tracing.batch([message(1, [("TraceParent", TRACEPARENT)])])
    assert trace.log_ids(0)["trace_id"] == TRACE_ID
    assert ctx


def test_batch_spans_form_consume_produce_persist_tree(
        tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    msgs = [message(1, [("traceparent", TRACEPARENT)]), message(2)]
    trace = tracing.batch(msgs)
    start = time.time_ns()
    trace.generated([outcome("a", 3.5), outcome(None, 0.5)], start, start + 5_000_000)
    headers = trace.start_produce(0, "t.results")
    trace.with_trace_headers(1, "t.dlq", [("traceparent", TRACEPARENT), ("x-error", b"bad")])
    trace.produced(2)
    trace.persisted(start + 6_000_000, start + 7_000_000)
    trace.end()
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == sorted(["consume", "produce", "persist"] * 2)
    for consume in by_name(spans, "consume"):
        children = {s.name for s in spans if parent_of(s) == consume.context.span_id}
        assert children == {"produce", "persist"}
        assert {s.context.trace_id for s in spans
                if parent_of(s) == consume.context.span_id} == {consume.context.trace_id}
    produce_0 = next(s for s in by_name(spans, "produce")
                     if format(s.context.trace_id, "032x") == TRACE_ID)
    assert headers == [("traceparent", f"00-{TRACE_ID}-{produce_0.context.span_id:016x}-01"
                        .encode())]
    assert produce_0.kind is SpanKind.PRODUCER
    assert produce_0.attributes is not None and produce_0.attributes[
        "onexgen.publish_attempts"] == 2
    consumes = by_name(spans, "consume")
    assert {c.attributes["onexgen.job_duration_ms"] for c in consumes  # type: ignore[index]
            } == {3.5, 0.5}
    assert {c.attributes["onexgen.pool_round_trip_ms"] for c in consumes  # type: ignore[index]
            } == {5.0}
    assert all(c.kind is SpanKind.CONSUMER and c.end_time is not None
               and c.start_time is not None and c.end_time >= c.start_time for c in consumes)


def test_with_trace_headers_replaces_inbound_trace_headers_only(tracing: Tracing) -> None:
    trace = tracing.batch([message(1, [("traceparent", TRACEPARENT)])])
    out = trace.with_trace_headers(0, "t.dlq", [("traceparent", TRACEPARENT),
                                                ("tracestate", b"a=b"), ("x-error", b"bad")])
    names = [k for k, _ in out]
    assert names.count("traceparent") == 1 and ("x-error", b"bad") in out
    assert dict(out)["traceparent"] != TRACEPARENT
    assert dict(out)["traceparent"].decode().split("-")[1] == TRACE_ID


def test_stage_timings_become_child_spans_of_consume_with_their_times(
        tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    @dataclass(frozen=True)
    class TimedOutcome:  # the shape JobOutcome takes once the pool reports stage times
        duration_ms: float
        cached: bool
        error_type: str | None
        stage_ns: tuple[tuple[str, int, int], ...]

    t = time.time_ns()
    stages = (("predict", t, t + 10), ("detect", t + 10, t + 20), ("render", t + 20, t + 90),
              ("validate", t + 90, t + 120))
    trace = tracing.batch([message(1)])
    trace.generated([TimedOutcome(1.0, False, None, stages)], t - 5, t + 200)
    trace.end()
    spans = exporter.get_finished_spans()
    (consume,) = by_name(spans, "consume")
    children = sorted((s for s in spans if parent_of(s) == consume.context.span_id),
                      key=lambda s: s.start_time or 0)
    assert [(c.name, c.start_time, c.end_time) for c in children] == list(stages)
    assert all(c.context.trace_id == consume.context.trace_id for c in children)


def test_stage_timings_of_an_outcome_without_them_is_empty() -> None:
    assert stage_timings(outcome("a")) == ()
    assert stage_timings(SimpleNamespace(stage_ns=[("x", 1, 2)])) == ()


def test_end_with_error_marks_open_spans_failed(
        tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    trace = tracing.batch([message(1)])
    trace.start_produce(0, "t.results")
    trace.end(error=RuntimeError("broker gone"))
    spans = exporter.get_finished_spans()
    assert {s.name for s in spans} == {"consume", "produce"}
    assert all(s.status.status_code is StatusCode.ERROR for s in spans)
    assert all(any(e.name == "exception" for e in s.events) for s in spans)


def test_log_ids_are_w3c_hex(tracing: Tracing) -> None:
    trace = tracing.batch([message(1, [("traceparent", TRACEPARENT)])])
    ids = trace.log_ids(0)
    assert ids["trace_id"] == TRACE_ID and len(ids["span_id"]) == 16


def test_unsampled_parent_is_propagated_without_recording(
        tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    unsampled = f"00-{TRACE_ID}-{PARENT_ID}-00".encode()
    trace = tracing.batch([message(1, [("traceparent", unsampled)])])
    headers = trace.start_produce(0, "t.results")
    trace.produced(1)
    trace.end()
    assert exporter.get_finished_spans() == ()
    assert headers[0][1].decode().startswith(f"00-{TRACE_ID}-")
    assert headers[0][1].decode().endswith("-00")


def test_configure_tracing_with_exporter_none_is_off() -> None:
    assert configure_tracing(Settings(tracing_exporter="none")) is None
    assert configure_tracing(None) is None


def test_settings_read_tracing_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEXGEN_TRACING_EXPORTER", "otlp")
    monkeypatch.setenv("ONEXGEN_TRACING_SAMPLE_RATIO", "0.25")
    cfg = Settings()
    assert (cfg.tracing_exporter, cfg.tracing_sample_ratio) == ("otlp", 0.25)


def test_settings_reject_unknown_exporter() -> None:
    with pytest.raises(ValueError, match="tracing_exporter"):
        Settings(tracing_exporter="jaeger")


def test_console_exporter_writes_one_json_line_per_span() -> None:
    from onexgen.observability.tracing import _one_line

    out = io.StringIO()
    tracing = Tracing.create(ConsoleSpanExporter(out=out, formatter=_one_line),
                             synchronous=True)
    trace = tracing.batch([message(1, [("traceparent", TRACEPARENT)]), message(2)])
    trace.end()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["name"] == "consume"
    assert first["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert first["resource"]["attributes"]["service.name"] == "onexgen"


def test_tracestate_travels_with_the_workers_traceparent(tracing: Tracing) -> None:
    trace = tracing.batch([message(1, [("traceparent", TRACEPARENT),
                                       ("tracestate", b"vendor=abc,other=1")])])
    headers = dict(trace.start_produce(0, "t.results"))
    assert headers["tracestate"] == b"vendor=abc,other=1"
    assert headers["traceparent"].decode().startswith(f"00-{TRACE_ID}-")
