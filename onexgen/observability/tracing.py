"""Distributed tracing with OpenTelemetry: W3C trace context carried in Kafka headers.

A producer that traces puts a ``traceparent`` (and maybe ``tracestate``) header
on its request; the worker continues that trace (a new one is started when the
header is absent or malformed), records one span per stage of the request, and
puts its own ``traceparent`` on every message it produces for the request
(result, dead letter, automated feedback), so the consumer of the result sees
a child of the producer's span in the same trace.

Spans of one request (``BatchTrace``; names are the stage names)::

    <producer's span>                       (remote parent, from the header)
      consume   CONSUMER  batch start -> everything for the message done;
                          attributes onexgen.pool_round_trip_ms (the batch's
                          wait for the pool) and onexgen.job_duration_ms (the
                          job's own time in the pool process)
        predict | detect | render | validate
                          real pool-process timings, when the pool returns
                          them (``JobOutcome.stage_ns``, see ``stage_timings``)
        produce   PRODUCER  publish of the batch, acks=all (real, shared)
        persist           hand-off of the rows to the buffered Postgres sinks

What it costs: the spans of a batch are built as finished ``ReadableSpan``
objects (ids and times are known when they end) rather than as live SDK spans,
and the OTLP exporter writes protobuf bytes directly (``otlp_wire``); together
a fifth of the SDK's own path per span.

Off by default (``ONEXGEN_TRACING_EXPORTER=none``): the pipeline then holds
``None`` instead of a :class:`Tracing` and touches no OpenTelemetry object per
message. The exporter is ``console`` (one JSON line per span on stdout) or
``otlp`` (OTLP/HTTP protobuf to ``ONEXGEN_TRACING_OTLP_ENDPOINT``); spans are
exported from a background thread (``BatchSpanProcessor``), never on the loop.

========================================  ===========  ====================================
variable                                  default      meaning
========================================  ===========  ====================================
ONEXGEN_TRACING_EXPORTER                  none         none, console or otlp
ONEXGEN_TRACING_OTLP_ENDPOINT             unset        e.g. http://collector:4318/v1/traces
ONEXGEN_TRACING_SAMPLE_RATIO              1.0          share of new traces recorded
ONEXGEN_TRACING_SERVICE_NAME              onexgen      resource attribute service.name
ONEXGEN_TRACING_EXPORT_DELAY_MS           1000         longest wait before spans go out
========================================  ===========  ====================================
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import structlog
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    get_current_span,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from onexgen import __version__
from onexgen.settings import Settings

_T = TypeVar("_T")

__all__ = ["TRACE_HEADERS", "Tracing", "configure_tracing", "process_tracing",
           "stage_timings"]

log = structlog.get_logger("onexgen.tracing")

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_HEADERS = (TRACEPARENT, TRACESTATE)
Headers = list[tuple[str, bytes]]
Exporter = Literal["none", "console", "otlp"]


class _HeaderGetter(Getter[Sequence[tuple[str, bytes]]]):
    """Reads Kafka headers (a list of ``(name, bytes)``); names match case-insensitively."""

    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        found = [bytes(v).decode("latin-1") for k, v in carrier
                 if k.lower() == key and v is not None]
        return found or None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [k for k, _ in carrier]


_GETTER = _HeaderGetter()


def stage_timings(outcome: object) -> Sequence[tuple[str, int, int]]:
    """``(stage, start ns, end ns)`` measured in the pool process, if the outcome has them.

    ``onexgen.generation.job.JobOutcome.stage_ns`` holds wall-clock ``time.time_ns()``
    pairs, comparable with the worker's clock on the same host. An outcome without
    them (a cache hit, a timed-out job, a dead letter) returns ``()`` and its
    ``consume`` span gets no stage children: no stage span is ever invented.
    """
    timings = getattr(outcome, "stage_ns", ())
    return timings if isinstance(timings, tuple) else ()


class Tracing:
    """One tracer provider, its span processor and the W3C propagator: the pipeline's OTel."""

    def __init__(self, provider: TracerProvider, processor: SpanProcessor) -> None:
        self.provider = provider
        self.processor = processor
        self.scope = InstrumentationScope("onexgen.pipeline", __version__)
        self.propagator = TraceContextTextMapPropagator()

    @classmethod
    def create(cls, exporter: SpanExporter, *, service_name: str = "onexgen",
               sample_ratio: float = 1.0, export_delay_ms: int = 1000,
               synchronous: bool = False) -> Tracing:
        """A provider exporting to ``exporter``; ``synchronous`` exports at each span's end
        (tests with an in-memory exporter), otherwise from a background thread."""
        resource = Resource.create({
            "service.name": service_name, "service.version": __version__,
            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}"})
        provider = TracerProvider(resource=resource,
                                  sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
                                  shutdown_on_exit=True)
        processor: SpanProcessor
        if synchronous:
            processor = SimpleSpanProcessor(exporter)
        else:
            processor = BatchSpanProcessor(
                exporter, schedule_delay_millis=export_delay_ms, max_queue_size=65_536,
                max_export_batch_size=2_048)
        provider.add_span_processor(processor)
        return cls(provider, processor)

    def extract(self, headers: Sequence[tuple[str, bytes]]) -> Context:
        """The producer's context from ``traceparent``/``tracestate`` (empty when absent)."""
        return self.propagator.extract(headers, getter=_GETTER)

    def remote_parent(self, headers: Sequence[tuple[str, bytes]]) -> SpanContext | None:
        """The producer's span named by the headers, if they name a valid one."""
        ctx = get_current_span(self.extract(headers)).get_span_context()
        return ctx if ctx.is_valid else None

    def headers_for(self, ctx: SpanContext) -> Headers:
        """``traceparent`` (and ``tracestate``) naming the span ``ctx`` as the parent downstream.

        Formatted here rather than through ``propagator.inject`` (same W3C output, a
        third of the cost: it runs for every produced record)."""
        if not ctx.is_valid:
            return []
        headers = [(TRACEPARENT, f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-"
                                 f"{ctx.trace_flags:02x}".encode("ascii"))]
        if ctx.trace_state:
            headers.append((TRACESTATE, ctx.trace_state.to_header().encode("ascii")))
        return headers

    def batch(self, messages: Sequence[Any], *, start_ns: int | None = None) -> BatchTrace:
        """Start a ``consume`` span per message (``InboundMessage``) of a batch."""
        return BatchTrace(self, messages, start_ns)

    def child(self, parent: SpanContext) -> SpanContext:
        """A new span in ``parent``'s trace, sampled as it is, with its trace state."""
        return SpanContext(parent.trace_id, self.provider.id_generator.generate_span_id(),
                           is_remote=False, trace_flags=parent.trace_flags,
                           trace_state=parent.trace_state)

    def record(self, name: str, context: SpanContext, parent: SpanContext | None, start_ns: int,
               end_ns: int, *, kind: SpanKind = SpanKind.INTERNAL,
               attributes: dict[str, Any] | None = None, error: BaseException | None = None,
               ) -> None:
        """Hand a finished span to the processor (and so the exporter), built directly.

        Every span of a batch has known ids and times by the time it ends, so it is
        made as a ``ReadableSpan`` (about 2 µs) instead of going through the SDK's
        live ``Span`` (about 18 µs: locks, limits, processor callbacks twice).
        Unsampled spans are dropped here, as the SDK's sampler would have.
        """
        if not context.trace_flags.sampled:
            return
        status, events = _status_of(error)
        self.processor.on_end(ReadableSpan(
            name, context=context, parent=parent, resource=self.provider.resource,
            attributes=attributes, events=events, kind=kind, status=status,
            start_time=start_ns, end_time=end_ns, instrumentation_scope=self.scope))

    def force_flush(self, timeout_ms: int = 10_000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.provider.shutdown()


class _MessageTrace:
    """Ids and attributes of one message's spans, until they are recorded."""

    __slots__ = ("attributes", "consume", "parent", "produce", "produce_start", "produce_topic")

    def __init__(self, consume: SpanContext, parent: SpanContext | None,
                 attributes: dict[str, Any]) -> None:
        self.consume = consume
        self.parent = parent
        self.attributes = attributes
        self.produce: SpanContext | None = None
        self.produce_start = 0
        self.produce_topic = ""


class BatchTrace:
    """The spans of one batch's messages; the batch processor calls one method per stage.

    Index ``i`` everywhere is the message's position in the batch. Stage spans
    that the batch shares (publish, persist) get the same start and end on every
    message: each message's trace shows what it waited for, and none is made up.
    """

    __slots__ = ("_messages", "_start_ns", "_tracing", "by_origin")

    def __init__(self, tracing: Tracing, messages: Sequence[Any], start_ns: int | None) -> None:
        self._tracing = tracing
        self._start_ns = start_ns if start_ns is not None else time.time_ns()
        self._messages: list[_MessageTrace] = []
        self.by_origin: dict[str, int] = {}
        ids = tracing.provider.id_generator
        sampler = tracing.provider.sampler
        for i, m in enumerate(messages):
            self.by_origin[m.origin] = i
            parent = tracing.remote_parent(m.headers)
            trace_id = parent.trace_id if parent is not None else ids.generate_trace_id()
            if parent is not None:
                sampled = parent.trace_flags.sampled
            else:
                sampled = sampler.should_sample(None, trace_id, "consume", SpanKind.CONSUMER
                                                ).decision == Decision.RECORD_AND_SAMPLE
            consume = SpanContext(trace_id, ids.generate_span_id(), is_remote=False,
                                  trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0),
                                  trace_state=parent.trace_state if parent is not None else None)
            self._messages.append(_MessageTrace(consume, parent, {
                "messaging.system": "kafka", "messaging.destination.name": m.topic,
                "messaging.destination.partition.id": str(m.partition),
                "messaging.kafka.offset": m.offset}))

    def log_ids(self, i: int) -> dict[str, str]:
        """``trace_id``/``span_id`` of message ``i``'s consume span (hex, as in W3C)."""
        ctx = self._messages[i].consume
        return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}

    def annotate(self, i: int, **attributes: str | int | float | bool) -> None:
        """Attributes of message ``i``'s consume span (request id, status, ...)."""
        self._messages[i].attributes.update(attributes)

    def generated(self, outcomes: Sequence[Any], start_ns: int, end_ns: int) -> None:
        """The pool's stage spans (its own timings) under each consume span; the pool
        round trip and the job's own time become attributes of the consume span."""
        tracing = self._tracing
        wait_ms = (end_ns - start_ns) / 1e6
        for message, outcome in zip(self._messages, outcomes, strict=True):
            consume = message.consume
            attributes = message.attributes
            attributes["onexgen.pool_round_trip_ms"] = wait_ms
            attributes["onexgen.job_duration_ms"] = float(outcome.duration_ms)
            attributes["onexgen.output_cached"] = bool(outcome.cached)
            if outcome.error_type:
                attributes["onexgen.error_type"] = str(outcome.error_type)
            if not consume.trace_flags.sampled:
                continue
            for stage, s_start, s_end in stage_timings(outcome):
                tracing.record(stage, tracing.child(consume), consume, s_start, s_end)

    def start_produce(self, i: int, topic: str, *, start_ns: int | None = None) -> Headers:
        """Start message ``i``'s ``produce`` span; the headers that name it downstream."""
        message = self._messages[i]
        if message.produce is None:
            message.produce = self._tracing.child(message.consume)
            message.produce_start = start_ns if start_ns is not None else time.time_ns()
            message.produce_topic = topic
        return self._tracing.headers_for(message.produce)

    def with_trace_headers(self, i: int, topic: str, headers: Iterable[tuple[str, bytes]]
                           ) -> Headers:
        """``headers`` without inbound trace headers, plus message ``i``'s produce context."""
        kept = [(k, v) for k, v in headers if k.lower() not in TRACE_HEADERS]
        return kept + self.start_produce(i, topic)

    def produced(self, attempts: int, *, end_ns: int | None = None,
                 error: BaseException | None = None) -> None:
        end = end_ns if end_ns is not None else time.time_ns()
        for message in self._messages:
            if message.produce is not None:
                self._tracing.record(
                    "produce", message.produce, message.consume, message.produce_start, end,
                    kind=SpanKind.PRODUCER, error=error, attributes={
                        "messaging.system": "kafka", "messaging.operation.type": "send",
                        "messaging.destination.name": message.produce_topic,
                        "onexgen.publish_attempts": attempts})
                message.produce = None

    def persisted(self, start_ns: int, end_ns: int, *, what: str = "event_metrics",
                  name: str = "persist") -> None:
        """A ``persist`` span per message (``what`` names the rows; codegen: the hand-off to
        the buffered sinks, feedback: the keyed writes themselves)."""
        tracing = self._tracing
        attributes = {"onexgen.sink": what}
        for message in self._messages:
            consume = message.consume
            if consume.trace_flags.sampled:
                tracing.record(name, tracing.child(consume), consume, start_ns, end_ns,
                               attributes=attributes)

    def end(self, *, end_ns: int | None = None, error: BaseException | None = None) -> None:
        """End every open span; ``error`` marks them failed (the batch will be redelivered)."""
        end = end_ns if end_ns is not None else time.time_ns()
        if error is not None:
            self.produced(0, end_ns=end, error=error)
        for message in self._messages:
            self._tracing.record("consume", message.consume, message.parent, self._start_ns,
                                 end, kind=SpanKind.CONSUMER, attributes=message.attributes,
                                 error=error)


def _status_of(error: BaseException | None) -> tuple[Status, tuple[Event, ...]]:
    """Unset status, or an error status with an ``exception`` event as the SDK records it."""
    if error is None:
        return _UNSET, ()
    event = Event("exception", {
        "exception.type": type(error).__qualname__, "exception.message": str(error),
        "exception.stacktrace": "".join(traceback.format_exception(error)),
        "exception.escaped": False})
    return Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:500]), (event,)


_UNSET = Status(StatusCode.UNSET)


def _exporter(cfg: Settings) -> SpanExporter:
    if cfg.tracing_exporter == "console":
        return ConsoleSpanExporter(formatter=_one_line)
    from onexgen.observability.otlp_export import otlp_exporter

    return otlp_exporter(cfg.tracing_otlp_endpoint)


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + os.linesep


def configure_tracing(settings: Settings | None = None) -> Tracing | None:
    """The worker's tracing from its settings (``ONEXGEN_TRACING_*``); None when off or unset."""
    cfg = settings
    if cfg is None or cfg.tracing_exporter == "none":
        return None
    tracing = Tracing.create(_exporter(cfg), service_name=cfg.tracing_service_name,
                             sample_ratio=cfg.tracing_sample_ratio,
                             export_delay_ms=cfg.tracing_export_delay_ms)
    log.info("tracing_enabled", exporter=cfg.tracing_exporter,
             endpoint=cfg.tracing_otlp_endpoint, sample_ratio=cfg.tracing_sample_ratio)
    return tracing


_process_lock = threading.Lock()
_process: list[Tracing | None] = []


def process_tracing(settings: Settings | None = None) -> Tracing | None:
    """This process's tracing, configured once on first use (``None`` when off).

    Components built without an explicit ``Tracing`` share it, so a worker has
    one provider and one export thread however many processors it builds. The
    worker calls it with its settings first; a process that never does (a tool, a
    benchmark) gets none.
    """
    with _process_lock:
        if not _process:
            _process.append(configure_tracing(settings))
        return _process[0]


async def run_traced(tracing: Tracing | None, messages: Sequence[Any],
                     work: Callable[[BatchTrace | None], Awaitable[_T]]) -> _T:
    """``work(trace)`` inside a batch trace (``work(None)`` when tracing is off).

    A batch that fails or is cancelled ends its spans with the error; it will be
    redelivered, and the next attempt traces itself.
    """
    if tracing is None:
        return await work(None)
    trace = tracing.batch(messages)
    try:
        result = await work(trace)
    except BaseException as exc:
        trace.end(error=exc)
        raise
    trace.end()
    return result
