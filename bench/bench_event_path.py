"""Faust's per-event stream path against ``faust_internals.event_path``, side by side.

A real Faust app, topic channel and stream (no broker: the events are put on the
stream's channel queue as the conductor puts them, a "fetch" of ``BATCH`` at a time),
taken by ``streams.batching.take_batches`` and acknowledged, two ways in alternating
rounds:

- Faust's way (what the worker did until session 15): the stream iterator (Cython
  ``StreamIterator``: an ``await sleep(0)``, the queue's ``get`` and the buffering
  processor for each event), then ``await stream.ack(event)`` for each;
- ``ChannelEvents``: the events a delivery at a time straight off the channel, then
  ``ChannelEvents.ack(batch)`` (one lock, no sensor calls the lean monitor ignores).

And the conductor's dispatch of one message to its partition's handler (a handler that
does nothing): Faust's ``Conductor.on_message`` (an ``asyncio.Lock`` a message) against
``faust_internals.unlocked_dispatch``.

And a fetch's records turned into Faust's messages (``BATCH`` records over four
partitions, the records and the fetch itself given): Faust's ``Consumer.getmany`` (an
async generator, the flow, generation and high-water mark read for each record) against
``faust_internals.fetched.fetched_messages`` (those read once a fetch, a partition).

Reported: CPU (``time.process_time``) per event, medians of the rounds, and the ratio,
on the event loop the worker runs (``ONEXGEN_EVENT_LOOP``, uvloop by default).
Run: ``python -m bench event_path`` (no stack needed).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiokafka.structs import ConsumerRecord
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from bench.bench_event_loop import add_ways, run_on_worker_loop
from bench.report import Report
from onexgen.settings import Settings
from onexgen.streams.batching import take_batches
from onexgen.streams.faust_internals import unlocked_dispatch, use_fetch_limits
from onexgen.streams.faust_internals.event_path import channel_events
from onexgen.streams.faust_internals.fetched import fetched_messages
from onexgen.streams.lean import LeanMonitor, RawSchema

BATCH = 50
BATCHES = 200  # per round and way
ROUNDS = 6
TOPIC = "bench-event-path"


def _app() -> faust.App:
    app = faust.App("onexgen-bench-event-path", broker="kafka://127.0.0.1:1",
                    monitor=LeanMonitor(), stream_buffer_maxsize=4 * BATCH)
    use_fetch_limits(app, 10, 1, consumer_thread=False)  # the worker's consumer, no thread
    conductor: Any = app.topics
    conductor._acking_topics.add(TOPIC)  # as the conductor does once subscribed
    app.sensors.add(app.monitor)  # as the app does when it starts
    app.flow_control.resume()  # as the consumer does once partitions are assigned
    return app


class _Way:
    """One stream and its batches; ``step`` delivers a fetch and takes and acks it."""

    def __init__(self, lean: bool) -> None:
        self.app = _app()
        self.stream: Any = self.app.stream(
            self.app.topic(TOPIC, schema=RawSchema()).clone(is_iterator=True))
        self.events = channel_events(self.stream) if lean else None
        self.batches = take_batches(self.stream, BATCH, 60.0, events=self.events)
        self.offset = 0

    async def step(self, _: int) -> None:
        queue = self.stream.channel.queue
        generation = self.app.consumer_generation_id
        for _ in range(BATCH):
            message = ConsumerMessage(TOPIC, 0, self.offset, 0.0, 0, [], b"k", b"v", None,
                                      generation_id=generation)
            message.incref(1)
            queue.put_nowait(faust.Event(self.app, b"k", b"v", [], message))
            self.offset += 1
        batch = await self.batches.__anext__()
        if self.events is not None:
            self.events.ack(batch)
        else:
            for event in batch:
                await self.stream.ack(event)

    async def close(self) -> None:
        await self.batches.aclose()


async def _cpu_per_event(step: Callable[[int], Awaitable[None]]) -> float:
    started = time.process_time()
    for i in range(BATCHES):
        await step(i)
    return (time.process_time() - started) / (BATCHES * BATCH) * 1e6


async def _taking_and_acking() -> dict[str, list[float]]:
    ways = {"Faust's stream iterator and Stream.ack": _Way(lean=False),
            "ChannelEvents, a delivery at a time": _Way(lean=True)}
    out: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for r in range(ROUNDS):
            for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
                out[name].append(await _cpu_per_event(ways[name].step))
    finally:
        for way in ways.values():
            await way.close()
    return out


async def _dispatching() -> dict[str, list[float]]:
    app = _app()
    tp = TP(TOPIC, 0)

    async def handler(message: Any) -> None:
        return None

    conductor: Any = app.topics
    conductor._tp_to_callback[tp] = handler
    message = ConsumerMessage(TOPIC, 0, 0, 0.0, 0, [], b"k", b"v", None)
    faust_way = app.topics.on_message
    ours = unlocked_dispatch(faust_way, app)

    def stepping(dispatch: Callable[[Any], Awaitable[Any]]
                 ) -> Callable[[int], Awaitable[None]]:
        async def step(_: int) -> None:
            for _ in range(BATCH):
                await dispatch(message)
        return step

    ways = {"Conductor.on_message (a lock a message)": stepping(faust_way),
            "unlocked_dispatch": stepping(ours)}
    out: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(ROUNDS):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            out[name].append(await _cpu_per_event(ways[name]))
    return out


async def _listing() -> dict[str, list[float]]:
    app = _app()
    consumer: Any = app.consumer
    tps = [TP(TOPIC, p) for p in range(4)]
    records = {tp: [ConsumerRecord(TOPIC, tp.partition, o, 1_700_000_000_000, 0, b"k",
                                   b"v" * 400, None, 1, 400, [])
                    for o in range(BATCH // len(tps))] for tp in tps}

    async def wait_next_records(timeout: float) -> tuple[Any, Any]:  # noqa: ASYNC109
        return records, set(tps)

    consumer._wait_next_records = wait_next_records
    consumer.highwater = lambda tp: 1_000  # the thread's aiokafka consumer is not started

    async def faust_way(_: int) -> None:
        listed = [pair async for pair in consumer.getmany(timeout=1.0)]
        assert listed

    async def ours(_: int) -> None:
        await fetched_messages(consumer, 1.0)

    ways = {"Consumer.getmany (an async generator)": faust_way,
            "fetched_messages (listed at once)": ours}
    out: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(ROUNDS):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            out[name].append(await _cpu_per_event(ways[name]))
    return out


async def run_async() -> Report:
    report = Report("Faust's per-event stream path against onexgen's, per event",
                    params={"event_loop": Settings().event_loop, "batch": BATCH,
                            "batches_per_round": BATCHES, "rounds": ROUNDS})
    for ways in (await _taking_and_acking(), await _dispatching(), await _listing()):
        add_ways(report, ways, "event", "{:.2f}")
    return report


def run() -> Report:
    return run_on_worker_loop(run_async)


if __name__ == "__main__":
    r = run()
    print(r.render())
    print(r.write_json("event_path"))
