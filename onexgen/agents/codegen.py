"""The codegen agent: requests in batches -> results and dead letters.

Events are taken without automatic acks (``streams.batching.take_batches``) and
acknowledged only after the batch's results and dead letters are durably on
Kafka. Faust's plain ``take`` acks a batch in a ``finally`` even when its body
failed or was cancelled, which would lose the batch on shutdown or on an error.
A batch closes when full or ``ONEXGEN_BATCH_WITHIN_S`` after its first event,
and fills while earlier batches are being processed. When the pool has no
batch to generate, a batch goes out as soon as the fetch that brought its first
event is delivered (10 ms at most), and one that filled meanwhile goes out as soon
as the pool is done with the batch before it (``on_generated``, while that one
still publishes): small when idle, full under load. While the pool is idle the
worker's fetches also return as soon as a record is there (``prompt_fetches``),
instead of gathering ``ONEXGEN_KAFKA_FETCH_MIN_BYTES`` for up to the fetch wait; while
it holds a backlog they wait longer at the broker (``streams.fetch_cadence``: half the
backlog's drain time at the pool's measured pace, at most 100 ms), instead of coming
back empty every 10 ms through a burst.

Up to ``ONEXGEN_BATCHES_IN_FLIGHT`` batches are processed at once, so the pool
generates the next batch while earlier ones are being published: with one, the
pool idles during every publish round trip (with two, whenever both wait on it).
Each batch task acknowledges its own events once they are durable, after its
predecessor has (acks stay in offset order), so a shutdown's ``wait_empty`` sees
every finished batch acked even while the agent loop is waiting for the next batch.
When the agent is cancelled, its unfinished batches are cancelled with it and,
never acked, are delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from typing import Any

import faust
import structlog

from onexgen.agents.events import inbound
from onexgen.agents.guard import guarded
from onexgen.agents.runtime import WorkerRuntime
from onexgen.streams.app import requests_topic
from onexgen.streams.batching import take_batches
from onexgen.streams.faust_internals import fetch_delivered, fetch_wait, prompt_fetches
from onexgen.streams.faust_internals.event_path import channel_events
from onexgen.streams.fetch_cadence import BacklogFetchWait

log = structlog.get_logger("onexgen.agents.codegen")


def register_codegen_agent(app: faust.App, runtime: WorkerRuntime) -> Any:
    settings = runtime.settings
    topic = requests_topic(app, settings)

    async def codegen(stream: Any) -> None:
        await runtime.wait_ready()

        generating = 0  # batches the pool has not finished with
        idle = asyncio.Event()  # the pool is free: the next batch need not wait to fill
        idle.set()
        prompt = prompt_fetches(app)  # fetch at once while idle, gather while busy
        prompt(True)
        source = channel_events(stream)  # None: Faust's stream iterator and Stream.ack
        cadence = BacklogFetchWait(settings.kafka_fetch_max_wait_ms)
        set_wait = fetch_wait(app)  # longer while a backlog waits for the pool
        waiting = source.waiting if source is not None else (lambda: 0)
        clock = asyncio.get_running_loop().time
        consumed = runtime.metrics.messages_consumed.labels(topic=settings.topics.requests)

        def pool_done(requests: int) -> None:  # BatchProcessor calls it once per batch
            nonlocal generating
            generating -= 1
            wait_ms = cadence.finished(requests, clock(), waiting())
            if generating == 0:
                idle.set()
                prompt(True)
                set_wait(cadence.base_ms)
            else:
                set_wait(wait_ms)

        async def run_batch(events: list[Any], previous: asyncio.Task[None] | None) -> None:
            messages = [inbound(e) for e in events]
            consumed.inc(len(messages))
            with runtime.metrics.requests_in_flight(len(messages)):
                await guarded(runtime, "codegen", messages, functools.partial(
                    runtime.batch_processor.process, messages,
                    on_generated=functools.partial(pool_done, len(messages))))
            if previous is not None:
                await asyncio.wait([previous])  # its outcome is its own business
            if source is not None:
                source.ack(events)
            else:
                for event in events:
                    await stream.ack(event)
            runtime.monitor.record_progress_many(
                (m.topic, m.partition, m.offset) for m in messages)

        in_flight: deque[asyncio.Task[None]] = deque()
        batches = take_batches(stream, settings.batch_size, settings.batch_within_s, idle,
                               fetched=fetch_delivered(app), events=source)
        try:
            async for events in batches:
                previous = in_flight[-1] if in_flight else None
                generating += 1
                idle.clear()
                prompt(False)
                set_wait(cadence.handed(len(events), clock(), waiting()))
                in_flight.append(asyncio.create_task(run_batch(list(events), previous)))
                while len(in_flight) >= settings.batches_in_flight or (
                        in_flight and in_flight[0].done()):
                    await in_flight.popleft()
            while in_flight:
                await in_flight.popleft()
        finally:
            for task in in_flight:
                task.cancel()
            for task in in_flight:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return app.agent(topic, name="onexgen.codegen", concurrency=1)(codegen)
