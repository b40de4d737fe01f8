"""The feedback agent: wires ``<prefix>.feedback`` to the feedback processor.

Batches come from ``take_batches``; each goes to ``FeedbackProcessor.process``
(``onexgen.learning.processor``: decode, keyed writes, model updates, dead
letters) through ``guarded``, and is acknowledged only after it returns.
"""

from __future__ import annotations

import time
from typing import Any

import faust
import structlog

from onexgen.agents.events import inbound
from onexgen.agents.guard import guarded
from onexgen.agents.runtime import WorkerRuntime
from onexgen.learning.mixin_service import MixinLearningService
from onexgen.learning.models_store import ModelStore
from onexgen.learning.processor import DeferredPatternUpdater, FeedbackProcessor, FeedbackReport
from onexgen.storage.repositories.models import MixinFeedbackRepository
from onexgen.streams.app import feedback_topic
from onexgen.streams.batching import take_batches
from onexgen.streams.records import InboundMessage

log = structlog.get_logger("onexgen.agents.feedback")


async def open_processor(runtime: WorkerRuntime, *, retrain_after: int = 500
                         ) -> FeedbackProcessor:
    """Load the mixin model (newest stored version) and build the batch handler of a worker;
    the pattern detector's updater opens with the first pattern verdicts."""
    store = ModelStore(runtime.database.pool)
    mixins = await MixinLearningService.open(store, MixinFeedbackRepository(runtime.database.pool),
                                             retrain_after=retrain_after)
    patterns = DeferredPatternUpdater(store)
    return FeedbackProcessor(database=runtime.database, dlq_topic=runtime.settings.topics.dlq,
                             publish=runtime.publisher.publish, mixins=mixins, patterns=patterns,
                             monitor=runtime.monitor,
                             mixin_threshold=runtime.settings.mixin_threshold)


def register_feedback_agent(app: faust.App, runtime: WorkerRuntime, *,
                            retrain_after: int = 500) -> Any:
    """Attach the feedback agent to ``app``; it starts once ``runtime`` is ready."""
    settings = runtime.settings
    topic = feedback_topic(app, settings)

    async def feedback(stream: Any) -> None:
        await runtime.wait_ready()
        processor = await open_processor(runtime, retrain_after=retrain_after)
        batches = take_batches(stream, settings.batch_size, settings.batch_within_s)
        async for events in batches:
            started = time.perf_counter()
            messages = [inbound(e) for e in events]
            runtime.metrics.messages_consumed.labels(topic=settings.topics.feedback).inc(
                len(messages))
            reports: list[FeedbackReport] = []

            async def handle(batch: list[InboundMessage] = messages,
                             out: list[FeedbackReport] = reports) -> None:
                out.append(await processor.process(batch))

            await guarded(runtime, "feedback", messages, handle)
            for event in events:
                await stream.ack(event)
            if not reports:
                continue
            report = reports[0]
            if report.dead_lettered:
                runtime.metrics.dead_letters.labels(reason="feedback_invalid").inc(
                    report.dead_lettered)
            log.info("feedback_batch", messages=report.messages, dead_lettered=report.dead_lettered,
                     pattern_new=report.pattern_new, mixin_new=report.mixin_new,
                     pattern_learned=report.pattern_learned,
                     pattern_without_request=report.pattern_without_request,
                     mixin_update_ms=round(report.mixin_update_ms, 2),
                     pattern_update_ms=round(report.pattern_update_ms, 2),
                     duration_ms=round((time.perf_counter() - started) * 1e3, 2))

    return app.agent(topic, name="onexgen.feedback", concurrency=1)(feedback)
