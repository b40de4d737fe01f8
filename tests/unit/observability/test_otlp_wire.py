"""The direct OTLP encoder writes exactly what the official protobuf encoder builds."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from onexgen.observability.otlp_wire import RequestEncoder

RESOURCE = Resource.create({"service.name": "onexgen", "service.instance.id": "h:1"})
OTHER = Resource.create({"service.name": "other", "n": 3, "ratio": 0.5, "on": True})
SCOPE = InstrumentationScope("onexgen.pipeline", "0.1.0")


def span(name: str, span_id: int, *, parent: SpanContext | None = None, **kw: object
         ) -> ReadableSpan:
    trace_state = kw.pop("trace_state", None)
    ctx = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id, False, TraceFlags(1),
                      trace_state)  # type: ignore[arg-type]
    fields: dict[str, object] = {"resource": RESOURCE, "instrumentation_scope": SCOPE,
                                 "start_time": 1_700_000_000_000_000_000,
                                 "end_time": 1_700_000_000_000_500_000, **kw}
    return ReadableSpan(name, context=ctx, parent=parent, **fields)  # type: ignore[arg-type]


def spans() -> list[ReadableSpan]:
    remote = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True,
                         TraceFlags(1))
    local = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 7, False, TraceFlags(1))
    return [
        span("consume", 7, parent=remote, kind=SpanKind.CONSUMER,
             attributes={"messaging.system": "kafka", "messaging.kafka.offset": 123456789,
                         "negative": -5, "ratio": 0.25, "flag": False, "ok": True,
                         "list": ["a", "b"], "ints": [1, 2, 3], "ünïcode": "✓"},
             trace_state=TraceState([("vendor", "v1"), ("other", "x")])),
        span("render", 8, parent=local),
        span("produce", 9, parent=local, kind=SpanKind.PRODUCER,
             status=Status(StatusCode.ERROR, "PublishError: broker down"),
             events=[Event("exception", {"exception.type": "PublishError"}, timestamp=5)]),
        span("persist", 10, parent=local, status=Status(StatusCode.OK),
             links=[Link(remote, {"why": "batch"})]),
        span("orphan", 11, start_time=0, end_time=0, attributes={}),
        span("elsewhere", 12, resource=OTHER, instrumentation_scope=None),
        span("scoped", 13, instrumentation_scope=InstrumentationScope("x", None, "https://s")),
    ]


def test_encoded_request_equals_the_official_encoders_message() -> None:
    batch = spans()
    ours = ExportTraceServiceRequest.FromString(RequestEncoder().encode(batch))
    assert ours == encode_spans(batch)


def test_each_span_alone_and_cached_resource_encode_the_same() -> None:
    encoder = RequestEncoder()
    for s in spans() * 2:  # the second round uses the cached resource and scope bytes
        assert ExportTraceServiceRequest.FromString(encoder.encode([s])) == encode_spans([s])


def test_empty_batch_is_an_empty_request() -> None:
    assert RequestEncoder().encode([]) == encode_spans([]).SerializeToString() == b""
