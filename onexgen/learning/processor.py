"""Feedback processing: a batch of feedback events -> stored verdicts -> updated models.

The feedback agent (``onexgen.agents.feedback``) only feeds batches in; the logic is here.

Per batch (``FeedbackProcessor.process``):

1. decode every message with ``FEEDBACK_ADAPTER``; a bad one goes to the DLQ
   with its original bytes (``streams.dead_letter``);
2. write, idempotently, keyed by the event's Kafka position
   ``topic:partition:offset``: pattern verdicts through ``record_pattern_feedback``,
   mixin outcomes through ``update_mixin_compatibility`` (one per canonical pair,
   key ``<position>:<a>:<b>``) and the whole mixin set to ``mixin_feedback_events``;
3. update the models with the events that were *new* (a redelivered batch
   changes neither the tables nor the models): the mixin model by
   ``partial_fit`` (``MixinLearningService``, off the loop), the pattern detector
   by ``FeedbackLearner`` on the requests the verdicts are about, looked up in
   ``request_log`` (filled by the codegen side through ``remember_requests``);
4. publish the dead letters; only then does the agent acknowledge the events.

With tracing on (``observability.tracing``) each event gets a ``consume`` span
in the trace its ``traceparent`` names, a ``persist`` span for the writes, a
``learn`` span for the model updates, and its dead letter carries the
worker's ``traceparent`` instead of the inbound one.

Storage failures that may pass (database down, deadlock) are retried until
they succeed, so nothing is acknowledged unwritten; a row Postgres refuses is
retried alone and, if refused again, dead-lettered with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from onexgen.learning.live import mixin_verdicts_correct, tally_pattern_feedback
from onexgen.learning.mixin_service import MixinLearningService
from onexgen.learning.models_store import ModelStore
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.feedback import FeedbackItem, FeedbackLearner
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import copy_of
from onexgen.learning.patterns.weights import weight_for
from onexgen.models.errors import describe_validation_error
from onexgen.models.rows import PatternFeedbackRow
from onexgen.models.wire import FEEDBACK_ADAPTER, GenerationRequest, MixinFeedback, PatternFeedback
from onexgen.observability.context import correlation_id_from_headers
from onexgen.observability.monitor import Monitor
from onexgen.observability.tracing import BatchTrace, Tracing, process_tracing, run_traced
from onexgen.storage.errors import (
    DatabaseUnavailable,
    QueryTimeout,
    StorageError,
    TransientConflict,
)
from onexgen.storage.pool import Database
from onexgen.storage.repositories.mixins import outcomes_for
from onexgen.storage.repositories.models import (
    MixinFeedbackEvent,
    MixinFeedbackRepository,
    RequestLogRepository,
)
from onexgen.streams.dead_letter import (
    X_ORIGIN_OFFSET,
    X_ORIGIN_PARTITION,
    X_ORIGIN_TOPIC,
    dead_letter,
)
from onexgen.streams.errors import PublishError
from onexgen.streams.records import InboundMessage, OutboundRecord
from onexgen.streams.retry import RetryPolicy, retry

log = structlog.get_logger("onexgen.learning.processor")

TRANSIENT = (DatabaseUnavailable, TransientConflict, QueryTimeout)
WRITE_RETRY = RetryPolicy(max_attempts=0, base_delay_s=0.2, max_delay_s=10.0)
"""Retry until written: giving up would mean acknowledging feedback that was never stored."""


async def remember_requests(database: Database, items: Sequence[tuple[str, bytes]]) -> None:
    """Hook for the codegen side: store ``(request_id, raw request JSON)`` of processed requests.

    Pattern feedback names only a request id; the detector learns from the
    request's text, so the request must be findable by whichever worker
    consumes the feedback. One round trip per batch; a repeated id is ignored.
    """
    await RequestLogRepository(database.pool).remember_many(items)


class PatternUpdater:
    """The pattern detector the feedback loop trains (one thread: updates never overlap)."""

    def __init__(self, detector: PatternDetector, store: ModelStore | None = None, *,
                 save_every: int = 200) -> None:
        self.learner = FeedbackLearner(detector)
        self.store = store
        self.save_every = save_every
        self.unsaved = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pattern-update")

    @classmethod
    async def open(cls, store: ModelStore | None) -> PatternUpdater:
        """The newest stored detector, else a copy of the default one (trained off the loop)."""
        from onexgen.learning.patterns.training import default_detector

        loop = asyncio.get_running_loop()
        loaded = await store.latest_detector() if store is not None else None
        if loaded is not None:
            updater = cls(loaded.detector, store)
        else:
            updater = cls(await loop.run_in_executor(
                None, lambda: copy_of(default_detector())), store)
        # The shipped training memory (feature frequencies, rehearsal sample; ~1.5 s):
        # built now, off the loop, rather than inside the first feedback batch.
        await loop.run_in_executor(updater._executor, updater.learner.prepare)
        return updater

    async def update(self, items: Sequence[FeedbackItem]) -> float:
        """Apply one batch of verdicts; the update's seconds. Stores a version now and then."""
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self.learner.apply, list(items))
        self.unsaved += len(items)
        if self.store is not None and self.unsaved >= self.save_every:
            self.unsaved = 0
            await self.store.save_detector(self.learner.detector, params={"reason": "feedback"},
                                           metrics={"thresholds": result.thresholds})
        return result.update_seconds

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class DeferredPatternUpdater:
    """A :class:`PatternUpdater` opened by the first pattern verdicts, not at start.

    The updater holds a trainable copy of the detector, the token vectors and the
    training memory: about 110 MiB of the worker's heap, and a higher peak while it is
    built. A worker whose feedback topic carries no pattern verdicts never pays it.
    """

    def __init__(self, store: ModelStore | None) -> None:
        self.store = store
        self.updater: PatternUpdater | None = None
        self._opening = asyncio.Lock()

    async def update(self, items: Sequence[FeedbackItem]) -> float:
        """Open the updater if this is the first batch (off the loop), then apply."""
        async with self._opening:
            if self.updater is None:
                self.updater = await PatternUpdater.open(self.store)
                log.info("pattern_updater_opened")
        return await self.updater.update(items)

    def close(self) -> None:
        if self.updater is not None:
            self.updater.close()


@dataclass(slots=True)
class FeedbackReport:
    """What one batch did, for the batch's log line and for tests."""

    messages: int = 0
    dead_lettered: int = 0
    pattern_new: int = 0
    mixin_new: int = 0
    pattern_learned: int = 0
    pattern_without_request: int = 0
    mixin_update_ms: float = 0.0
    pattern_update_ms: float = 0.0
    dead_letters: list[OutboundRecord] = field(default_factory=list)


class FeedbackProcessor:
    """The batch handler; the Faust agent only feeds it messages and acks afterwards."""

    def __init__(self, *, database: Database, dlq_topic: str,
                 publish: Callable[[Sequence[OutboundRecord]], Awaitable[None]],
                 mixins: MixinLearningService | None,
                 patterns: PatternUpdater | DeferredPatternUpdater | None,
                 tracing: Tracing | Literal[False] | None = None,
                 monitor: Monitor | None = None, mixin_threshold: float = 0.5) -> None:
        """``tracing``: None uses the process's (``ONEXGEN_TRACING_*``), False turns it off."""
        self.database = database
        self.tracing: Tracing | None = (process_tracing() if tracing is None
                                        else tracing or None)
        self.dlq_topic = dlq_topic
        self.publish = publish
        self.mixins = mixins
        self.patterns = patterns
        self.monitor = monitor
        self.mixin_threshold = mixin_threshold
        self.mixin_events = MixinFeedbackRepository(database.pool)
        self.requests = RequestLogRepository(database.pool)

    async def process(self, messages: Sequence[InboundMessage]) -> FeedbackReport:
        return await run_traced(self.tracing, messages,
                                lambda trace: self._process(messages, trace))

    async def _process(self, messages: Sequence[InboundMessage],
                       trace: BatchTrace | None) -> FeedbackReport:
        report = FeedbackReport(messages=len(messages))
        pattern: list[tuple[InboundMessage, PatternFeedback]] = []
        mixin: list[tuple[InboundMessage, MixinFeedback]] = []
        for message in messages:
            try:
                event = FEEDBACK_ADAPTER.validate_json(message.value or b"")
            except ValidationError as exc:
                kind = ("invalid_json" if any(e["type"] == "json_invalid" for e in exc.errors())
                        else "schema_violation")
                self._reject(report, message, describe_validation_error(exc), kind)
                continue
            if isinstance(event, PatternFeedback):
                pattern.append((message, event))
            else:
                mixin.append((message, event))
        written_ns = time.time_ns() if trace is not None else 0
        new_patterns = await self._write(report, pattern, self._write_patterns)
        new_mixins = await self._write(report, mixin, self._write_mixins)
        report.pattern_new, report.mixin_new = len(new_patterns), len(new_mixins)
        if trace is not None:
            learn_ns = time.time_ns()
            trace.persisted(written_ns, learn_ns, what="feedback")
        await self._learn_mixins(report, new_mixins)
        await self._learn_patterns(report, new_patterns)
        if trace is not None:
            trace.persisted(learn_ns, time.time_ns(), what="model_update", name="learn")
            report.dead_letters = [_traced(trace, r) for r in report.dead_letters]
        if report.dead_letters:
            _, attempts = await retry(lambda: self.publish(report.dead_letters),
                                      policy=WRITE_RETRY, transient=(PublishError,))
            if trace is not None:
                trace.produced(attempts)
        return report

    def _reject(self, report: FeedbackReport, message: InboundMessage, reason: str,
                error_type: str) -> None:
        cid = correlation_id_from_headers(message.headers)
        report.dead_letters.append(dead_letter(message, dlq_topic=self.dlq_topic, reason=reason,
                                               error_type=error_type, attempts=1,
                                               correlation_id=cid))
        report.dead_lettered += 1

    async def _write(self, report: FeedbackReport, items: list[tuple[InboundMessage, Any]],
                     writer: Any) -> list[tuple[InboundMessage, Any]]:
        """Write all items; on a refused row, write one by one and dead-letter the refused."""
        if not items:
            return []
        try:
            new, _ = await retry(lambda: writer(items), policy=WRITE_RETRY, transient=TRANSIENT)
            return list(new)
        except StorageError as exc:
            if len(items) == 1:
                self._reject(report, items[0][0], f"database refused the event: {exc}",
                             "storage_rejected")
                return []
        out: list[tuple[InboundMessage, Any]] = []
        for item in items:
            out += await self._write(report, [item], writer)
        return out

    async def _write_patterns(self, items: list[tuple[InboundMessage, PatternFeedback]]
                              ) -> list[tuple[InboundMessage, PatternFeedback]]:
        keys = [m.origin for m, _ in items]
        known = await self.database.feedback.weights(keys)
        rows = [PatternFeedbackRow(
            request_id=e.request_id, pattern_name=e.pattern_name,
            detected_confidence=e.detected_confidence, feedback_type=e.feedback_type,
            source=e.source, actual_pattern=e.actual_pattern, feedback_key=m.origin,
            contract_json={"comment": e.comment} if e.comment else None,
            created_at=_timestamp(m)) for m, e in items]
        await self.database.feedback.write_many(rows)
        return [(m, e) for m, e in items if m.origin not in known]

    async def _write_mixins(self, items: list[tuple[InboundMessage, MixinFeedback]]
                            ) -> list[tuple[InboundMessage, MixinFeedback]]:
        events = [MixinFeedbackEvent(
            event_key=m.origin, node_type=e.node_type.value, mixins=list(e.mixins),
            success=e.success, source=e.source.value, learning_weight=weight_for(e.source),
            request_id=e.request_id, error=e.error, created_at=_timestamp(m)) for m, e in items]
        new = await self.mixin_events.record_many(events)
        outcomes = [o for m, e in items
                    for o in outcomes_for(e.node_type, e.mixins, e.success, reason=e.error,
                                          key=m.origin)]
        await self.database.mixins.record_many(outcomes)
        return [(m, e) for m, e in items if m.origin in new]

    async def _learn_mixins(self, report: FeedbackReport,
                            items: list[tuple[InboundMessage, MixinFeedback]]) -> None:
        from onexgen.learning.mixins.data import outcome_from_feedback

        outcomes = [o for _, e in items if (o := outcome_from_feedback(e)) is not None]
        if self.mixins is not None and outcomes:
            if self.monitor is not None:
                # Judge the model before it learns from these outcomes.
                scores = [float(s) for s in await self.mixins.predict(
                    [(o.node_type, o.mixins) for o in outcomes])]
                right = mixin_verdicts_correct(scores, [o.works for o in outcomes],
                                               self.mixin_threshold)
                self.monitor.observe_ratio("mixin_accuracy", right, len(outcomes))
                self.monitor.set_gauge("compatibility_score", sum(scores) / len(scores))
            stats = await self.mixins.update(outcomes)
            report.mixin_update_ms = stats.seconds * 1e3

    async def _learn_patterns(self, report: FeedbackReport,
                              items: list[tuple[InboundMessage, PatternFeedback]]) -> None:
        usable = [e for _, e in items if e.pattern_name in PATTERN_NAMES
                  and (e.actual_pattern is None or e.actual_pattern in PATTERN_NAMES)]
        if self.monitor is not None and usable:
            t = tally_pattern_feedback(usable)
            self.monitor.observe_ratio("pattern_precision", t.tp, t.tp + t.fp)
            self.monitor.observe_ratio("false_positive_rate", t.fp, t.fp + t.tn)
        if self.patterns is None or not usable:
            return
        raw = await self.requests.get_many([e.request_id for e in usable])
        found: dict[str, GenerationRequest] = {}
        for rid, body in raw.items():
            try:
                found[rid] = GenerationRequest.model_validate_json(body)
            except ValidationError:
                log.warning("request_log_unreadable", request_id=rid)
        learnable = [(e, found[e.request_id]) for e in usable if e.request_id in found]
        report.pattern_without_request = len(usable) - len(learnable)
        if learnable:
            report.pattern_update_ms = await self.patterns.update(learnable) * 1e3
            report.pattern_learned = len(learnable)


def _traced(trace: BatchTrace, letter: OutboundRecord) -> OutboundRecord:
    """``letter`` with its event's produce context instead of the inbound trace headers."""
    h = dict(letter.headers)
    origin = b":".join((h.get(X_ORIGIN_TOPIC, b""), h.get(X_ORIGIN_PARTITION, b""),
                        h.get(X_ORIGIN_OFFSET, b""))).decode("utf-8", "replace")
    i = trace.by_origin.get(origin)
    if i is None:
        return letter
    return OutboundRecord(letter.topic, letter.key, letter.value,
                          trace.with_trace_headers(i, letter.topic, letter.headers))


def _timestamp(message: InboundMessage) -> datetime | None:
    """The event's Kafka time, so a replay stores the same row."""
    if message.timestamp_ms is None:
        return None
    return datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)
