"""The codegen agent: requests in batches -> results and dead letters.

Events are taken without automatic acks (``noack_take``) and acknowledged only
after the batch's results and dead letters are durably on Kafka. Faust's plain
``take`` acks a batch in a ``finally`` even when its body failed or was
cancelled, which would lose the batch on shutdown or on an error.
"""

from __future__ import annotations

import functools
from typing import Any

import faust
import structlog

from agents.events import inbound
from agents.guard import guarded
from agents.runtime import WorkerRuntime
from streams.app import requests_topic

log = structlog.get_logger("onexgen.agents.codegen")


def register_codegen_agent(app: faust.App, runtime: WorkerRuntime) -> Any:
    settings = runtime.settings
    topic = requests_topic(app, settings)

    async def codegen(stream: Any) -> None:
        await runtime.wait_ready()
        batches = stream.noack_take(settings.batch_size, within=settings.batch_within_s)
        async for events in batches:
            messages = [inbound(e) for e in events]
            runtime.metrics.messages_consumed.labels(topic=settings.topics.requests).inc(
                len(messages))
            with runtime.metrics.requests_in_flight(len(messages)):
                await guarded(runtime, "codegen", messages,
                              functools.partial(runtime.batch_processor.process, messages))
            for event in events:
                await stream.ack(event)
            for m in messages:
                runtime.monitor.record_progress(m.topic, m.partition, m.offset)

    return app.agent(topic, name="onexgen.codegen", concurrency=1)(codegen)
