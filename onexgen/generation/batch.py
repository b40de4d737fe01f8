"""One batch, end to end: generate in the pool, build results and dead letters, publish.

The batch is published as a whole and only then acknowledged by the caller, so
a crash at any point re-delivers the batch (at-least-once); results are keyed by
request id and deterministic, so a re-delivered request yields the same result.

Tracing (``observability.tracing``): with a :class:`Tracing` each message gets
its spans (consume, the pool's stages, produce, persist) in the
trace its ``traceparent`` names, and every record produced for it carries the
worker's own ``traceparent``. Without one (the default, tracing off) the only
cost is a ``None`` check per stage, and inbound ``traceparent``/``tracestate``
headers are forwarded unchanged, as an uninstrumented hop would.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog

from onexgen.generation.errors import PoolUnavailable
from onexgen.generation.job import JobOutcome
from onexgen.generation.persist import RowSink
from onexgen.generation.pool import GenerationPool
from onexgen.models.rows import EventMetricRow
from onexgen.observability.context import (
    CORRELATION_ID_HEADER,
    correlation_id_from_headers,
)
from onexgen.observability.histograms import observe_many
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor
from onexgen.observability.tracing import (
    TRACE_HEADERS,
    BatchTrace,
    Tracing,
    process_tracing,
    run_traced,
)
from onexgen.settings import TopicNames
from onexgen.streams.dead_letter import dead_letter
from onexgen.streams.errors import PublishError, PublishRefused
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import InboundMessage, OutboundRecord
from onexgen.streams.retry import RetriesExhausted, RetryPolicy, retry

log = structlog.get_logger("onexgen.batch")

PASSTHROUGH_HEADERS = TRACE_HEADERS
"""Forwarded unchanged when tracing is off; replaced by the worker's own when it is on."""


@dataclass(slots=True)
class MessageOutcome:
    """What happened to one message of the batch, for metrics and persistence."""

    message: InboundMessage
    correlation_id: str
    status: str  # succeeded | failed | rejected | dead_lettered
    error_type: str | None
    duration_ms: float
    queue_wait_ms: float
    attempts: int


@dataclass(slots=True)
class BatchReport:
    outcomes: list[MessageOutcome] = field(default_factory=list)
    duration_ms: float = 0.0
    publish_attempts: int = 0
    generate_ms: float = 0.0
    """Waiting for the pool (admission + generation), part of ``duration_ms``."""
    publish_ms: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


class BatchProcessor:
    """Turns a batch of request messages into published results and dead letters."""

    def __init__(
        self,
        *,
        topics: TopicNames,
        pool: GenerationPool,
        publisher: Publisher,
        metrics: PipelineMetrics,
        event_sink: RowSink[EventMetricRow] | None = None,
        monitor: Monitor | None = None,
        request_sink: RowSink[tuple[str, bytes]] | None = None,
        pool_policy: RetryPolicy | None = None,
        publish_policy: RetryPolicy | None = None,
        clock_ms: Callable[[], float] = lambda: time.time() * 1000,
        tracing: Tracing | Literal[False] | None = None,
    ) -> None:
        """``tracing``: None uses the process's (``ONEXGEN_TRACING_*``), False turns it off."""
        self.topics = topics
        self.pool = pool
        self.publisher = publisher
        self.metrics = metrics
        self.event_sink = event_sink
        self.monitor = monitor
        self.request_sink = request_sink
        self.pool_policy = pool_policy or RetryPolicy(max_attempts=3, base_delay_s=0.2)
        # Kafka down: keep trying, never ack before the batch is durable.
        self.publish_policy = publish_policy or RetryPolicy(max_attempts=0, max_delay_s=15.0)
        self._clock_ms = clock_ms
        self.tracing: Tracing | None = (process_tracing() if tracing is None
                                        else tracing or None)

    async def process(self, messages: Sequence[InboundMessage],
                      on_generated: Callable[[], None] | None = None) -> BatchReport:
        """Generate, publish and record ``messages``; ``on_generated()`` is called exactly once,
        when the pool is done with them (before publishing, or when the pool step raised),
        so a caller can hand the pool its next batch."""
        return await run_traced(self.tracing, messages,
                                lambda trace: self._process(messages, trace, on_generated))

    async def _process(self, messages: Sequence[InboundMessage], trace: BatchTrace | None,
                       on_generated: Callable[[], None] | None = None) -> BatchReport:
        started = time.perf_counter()
        now_ms = self._clock_ms()
        pool_started_ns = time.time_ns() if trace is not None else 0
        try:
            cids = [correlation_id_from_headers(m.headers) for m in messages]
            items = [(m.value, cid) for m, cid in zip(messages, cids, strict=True)]
            outcomes, pool_attempts = await retry(
                lambda: self.pool.run(items), policy=self.pool_policy,
                transient=(PoolUnavailable,), on_retry=_log_retry("generation pool"),
            )
        except RetriesExhausted as exc:
            outcomes = [JobOutcome("invalid", None, "invalid", b"", "pool_unavailable",
                                   str(exc), 0.0) for _ in messages]
            pool_attempts = exc.attempts
        finally:
            if on_generated is not None:
                on_generated()  # also when the pool step failed: the pool is done with it
        if trace is not None:
            trace.generated(outcomes, pool_started_ns, time.time_ns())
        if self.monitor is not None:  # generation_duration_ms: the render stage, not latency
            self.monitor.observe_stage_many("render", [
                (ended_ns - begun_ns) / 1e9 for outcome in outcomes if outcome.stage_ns
                for stage, begun_ns, ended_ns in outcome.stage_ns if stage == "render"])
        report = BatchReport(generate_ms=(time.perf_counter() - started) * 1000)
        debug = log.is_enabled_for(logging.DEBUG)  # once a batch, not once a message
        records = [
            self._record_for(i, m, cid, o, pool_attempts, now_ms, report, trace, debug)
            for i, (m, cid, o) in enumerate(zip(messages, cids, outcomes, strict=True))
        ]
        records += self._composition_feedback(messages, outcomes, cids, trace)
        t_publish = time.perf_counter()
        _, report.publish_attempts = await retry(
            lambda: self.publisher.publish(records), policy=self.publish_policy,
            transient=(PublishError,), on_retry=_log_retry("publish"),
        )
        if trace is not None:
            trace.produced(report.publish_attempts)
        publish_s = time.perf_counter() - t_publish
        report.publish_ms = publish_s * 1000
        self.metrics.produce_duration.labels(topic=self.topics.results).observe(publish_s)
        if self.monitor is not None:
            self.monitor.observe_stage("produce", publish_s)
        report.duration_ms = (time.perf_counter() - started) * 1000
        self._observe(report)
        persist_started_ns = time.time_ns() if trace is not None else 0
        if self.event_sink is not None:
            self.event_sink.add(event_rows(report))
        if self.request_sink is not None:
            self.request_sink.add((o.request_id, m.value or b"")
                                  for m, o in zip(messages, outcomes, strict=True)
                                  if o.kind == "result" and o.request_id)
        if trace is not None:
            trace.persisted(persist_started_ns, time.time_ns())
        return report

    def _composition_feedback(self, messages: Sequence[InboundMessage],
                              outcomes: Sequence[JobOutcome], cids: Sequence[str],
                              trace: BatchTrace | None) -> list[OutboundRecord]:
        """New composition verdicts as automated mixin feedback, published with the batch.

        The feedback agent turns them into matrix rows and model updates; verdicts a
        pool process had already seen (``cached``) are not repeated.
        """
        out = []
        for i, (m, o, cid) in enumerate(zip(messages, outcomes, cids, strict=True)):
            c = o.composition
            if c is None or c.cached:
                continue
            event = c.feedback(o.request_id)
            if event is not None:
                headers = [(CORRELATION_ID_HEADER, cid.encode())]
                if trace is not None:
                    headers += trace.start_produce(i, self.topics.feedback)
                else:
                    headers += [(k, v) for k, v in m.headers if k in PASSTHROUGH_HEADERS]
                out.append(OutboundRecord(self.topics.feedback, (o.request_id or "").encode(),
                                          event.model_dump_json().encode(), headers))
        return out

    def _record_for(self, i: int, message: InboundMessage, cid: str, outcome: JobOutcome,
                    attempts: int, now_ms: float, report: BatchReport,
                    trace: BatchTrace | None, debug: bool = False) -> OutboundRecord:
        """``debug``: whether DEBUG lines are logged (the per-message "generated" line)."""
        wait = max(0.0, now_ms - message.timestamp_ms) if message.timestamp_ms else 0.0
        if outcome.kind == "invalid":
            where = self._where(i, message, cid, trace)
            reason = outcome.reason or "invalid message"
            error_type = outcome.error_type or "invalid_message"
            log.warning("dead_lettered", reason=reason, error_type=error_type, **where)
            report.outcomes.append(MessageOutcome(message, cid, "dead_lettered", error_type,
                                                  outcome.duration_ms, wait, attempts))
            letter = dead_letter(message, dlq_topic=self.topics.dlq, reason=reason,
                                 error_type=error_type, attempts=attempts, correlation_id=cid)
            if trace is None:
                return letter
            trace.annotate(i, **{"onexgen.status": "dead_lettered",
                                 "onexgen.error_type": error_type})
            return OutboundRecord(letter.topic, letter.key, letter.value,
                                  trace.with_trace_headers(i, letter.topic, letter.headers))
        if debug:
            log.debug("generated", request_id=outcome.request_id, status=outcome.status,
                      duration_ms=round(outcome.duration_ms, 3),
                      **self._where(i, message, cid, trace))
        report.outcomes.append(MessageOutcome(message, cid, outcome.status, outcome.error_type,
                                              outcome.duration_ms, wait, attempts))
        headers = [(CORRELATION_ID_HEADER, cid.encode())]
        if trace is None:
            headers += [(k, v) for k, v in message.headers if k in PASSTHROUGH_HEADERS]
        else:
            trace.annotate(i, **{"onexgen.request_id": outcome.request_id or "",
                                 "onexgen.status": outcome.status})
            headers += trace.start_produce(i, self.topics.results)
        key = (outcome.request_id or "").encode()
        return OutboundRecord(self.topics.results, key, outcome.payload, headers)

    @staticmethod
    def _where(i: int, message: InboundMessage, cid: str,
               trace: BatchTrace | None) -> dict[str, object]:
        """A message's context for its log lines, as fields rather than through
        log_context: binding and resetting context variables per message cost a tenth of
        the event loop's time; built only for a line that is logged."""
        return {"correlation_id": cid, "topic": message.topic,
                "partition": message.partition, "offset": message.offset,
                **(trace.log_ids(i) if trace is not None else {})}

    def _observe(self, report: BatchReport) -> None:
        outcomes, duration_ms = report.outcomes, report.duration_ms
        counted = Counter((o.status, o.error_type if o.status == "dead_lettered" else None)
                          for o in outcomes)  # one pass; each figure below reads it
        n = Counter[str]()
        for (status, _), count in counted.items():
            n[status] += count
        waits = [o.queue_wait_ms for o in outcomes]
        latencies_ms = [w + duration_ms for w in waits]
        if self.monitor is not None:
            self.monitor.observe_batch(
                len(outcomes), duration_ms / 1000, succeeded=n["succeeded"], failed=n["failed"],
                dead_lettered=n["dead_lettered"], rejected=n["rejected"],
                latencies_ms=latencies_ms)
        m = self.metrics
        m.observe_batch(len(outcomes), duration_ms / 1000)
        for (status, error_type), count in counted.items():  # one labels() lookup per kind
            if status == "dead_lettered":
                m.dead_letters.labels(reason=error_type or "unknown").inc(count)
            else:
                m.results_produced.labels(status=status).inc(count)
        # Kafka timestamp of the request -> its result durable on Kafka; once a batch.
        observe_many(m.request_duration, [latency / 1000 for latency in latencies_ms])
        observe_many(m.queue_wait, [w / 1000 for w in waits])
        log.info("batch", size=len(outcomes), duration_ms=round(duration_ms, 2),
                 generate_ms=round(report.generate_ms, 2), publish_ms=round(report.publish_ms, 2),
                 queue_wait_ms_max=round(max(waits, default=0.0), 2),
                 succeeded=n["succeeded"], rejected=n["rejected"], failed=n["failed"],
                 dead_lettered=n["dead_lettered"], publish_attempts=report.publish_attempts)


def _log_retry(what: str) -> Callable[[int, BaseException, float], None]:
    def on_retry(attempt: int, exc: BaseException, pause: float) -> None:
        if isinstance(exc, PublishRefused):  # an operator's fix: an error, naming the ACL
            log.error("publish_refused", attempt=attempt, error=str(exc),
                      pause_s=round(pause, 3))
            return
        log.warning("retrying", what=what, attempt=attempt, error=str(exc),
                    pause_s=round(pause, 3))

    return on_retry


def event_rows(report: BatchReport) -> list[EventMetricRow]:
    """One ``event_processing_metrics`` row per message, keyed by its Kafka position and time."""
    size = len(report.outcomes)
    rows = []
    times: dict[float, datetime] = {}  # a burst's records share their milliseconds
    for o in report.outcomes:
        m = o.message
        ts = m.timestamp_ms if m.timestamp_ms is not None else time.time() * 1000
        created_at = times.get(ts)
        if created_at is None:
            created_at = times[ts] = datetime.fromtimestamp(ts / 1000, UTC)
        ok = o.status == "succeeded"
        rows.append(EventMetricRow(
            event_key=m.origin, event_type="generation_request", event_source=m.topic,
            processing_duration_ms=o.duration_ms, success=ok, created_at=created_at,
            queue_wait_time_ms=o.queue_wait_ms,
            error_type=None if ok else (o.error_type or o.status),
            error_message=None, retry_count=max(0, o.attempts - 1), batch_size=size,
        ))
    return rows
