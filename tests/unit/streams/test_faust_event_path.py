"""``faust_internals.event_path``: events off a real Faust stream's channel, acks in a batch.

A real Faust app, topic channel, stream and consumer (no broker is contacted): events
are put on the stream's channel as Faust's conductor puts them, and the consumer's own
bookkeeping (unacked set, acked offsets, the offset it would commit) is what is checked.
The first test fails when Faust's per-event code changes under us, naming what to redo.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from onexgen.streams.batching import take_batches
from onexgen.streams.faust_internals import event_path, use_fetch_limits
from onexgen.streams.faust_internals.event_path import (
    ChannelEvents,
    channel_events,
    event_path_is_the_copied_one,
)
from onexgen.streams.lean import LeanMonitor, RawSchema

TOPIC = "onexgen-test-event-path"


def test_the_installed_faust_event_path_is_the_one_we_copy() -> None:
    assert event_path_is_the_copied_one(), (
        "faust's Stream._py_aiter, Stream.ack or Event.ack changed: redo "
        "onexgen.streams.faust_internals.event_path.ChannelEvents, then update "
        "EVENT_PATH_SHA256 (until then the worker runs Faust's stream iterator)")


def _stream(monitor: Any = None) -> tuple[faust.App, Any]:
    app = faust.App("onexgen-test-event-path", broker="kafka://127.0.0.1:1",
                    monitor=monitor or LeanMonitor())
    use_fetch_limits(app, 10, 1, consumer_thread=False)  # no thread loop to leave open
    app.sensors.add(app.monitor)  # what the app does when it starts
    channel = app.topic(TOPIC, schema=RawSchema()).clone(is_iterator=True)
    conductor: Any = app.topics
    conductor._acking_topics.add(TOPIC)  # what the conductor does when it subscribes
    app.flow_control.resume()  # what the consumer does once partitions are assigned
    return app, app.stream(channel)


def _deliver(app: faust.App, stream: Any, *offsets: int, partition: int = 0,
                   generation: int | None = None) -> list[Any]:
    """Events on the stream's channel, as the conductor's topic callback puts them."""
    events = []
    for offset in offsets:
        message = ConsumerMessage(TOPIC, partition, offset, 0.0, 0, [], b"k", b"v", None,
                                  generation_id=app.consumer_generation_id
                                  if generation is None else generation)
        message.incref(1)
        event = faust.Event(app, b"k", b"v", [], message)
        stream.channel.queue.put_nowait(event)
        events.append(event)
    return events


async def test_take_returns_every_delivered_event_and_tracks_it_unacked() -> None:
    app, stream = _stream()
    events = channel_events(stream)
    assert isinstance(events, ChannelEvents)
    delivered = _deliver(app, stream, 0, 1, 2)
    taken = await events.take(10)
    assert taken == delivered
    consumer: Any = app.consumer
    assert {e.message for e in taken} == set(consumer._unacked_messages)
    assert stream.channel.queue.empty()
    assert app.monitor.stream_inbound_time[TP(TOPIC, 0)] > 0  # the stuck-stream check's


async def test_take_leaves_events_past_the_limit_in_the_channel() -> None:
    app, stream = _stream()
    events = channel_events(stream)
    assert events is not None
    delivered = _deliver(app, stream, 0, 1, 2, 3)
    assert await events.take(3) == delivered[:3]
    assert stream.channel.queue.qsize() == 1
    assert events.take_ready(5) == delivered[3:]
    assert events.take_ready(5) == []


async def test_take_acks_and_drops_events_from_before_a_rebalance() -> None:
    app, stream = _stream()
    events = channel_events(stream)
    assert events is not None
    stale = _deliver(app, stream, 0, generation=app.consumer_generation_id - 1)
    current = _deliver(app, stream, 1)
    assert await events.take(10) == current
    assert stale[0].message.acked and not current[0].message.acked


async def test_ack_marks_offsets_committable_and_a_gap_still_holds_the_commit() -> None:
    app, stream = _stream()
    events = channel_events(stream)
    assert events is not None
    consumer: Any = app.consumer
    tp = TP(TOPIC, 0)
    consumer._committed_offset[tp] = None
    taken = await _take_all(events, _deliver(app, stream, 0, 1, 2, 3))
    events.ack([taken[0], taken[1], taken[3]])  # offset 2 not durable yet
    assert consumer._new_offset(tp) == 2  # Kafka's next offset to read: 2, not 4
    assert not consumer._unacked_messages - {taken[2].message}
    events.ack([taken[2]])
    assert consumer._new_offset(tp) == 4
    assert not consumer._unacked_messages


async def _take_all(events: ChannelEvents, delivered: list[Any]) -> list[Any]:
    taken = await events.take(len(delivered))
    assert taken == delivered
    return taken


async def test_ack_calls_sensors_that_are_not_the_lean_monitor() -> None:
    seen: list[str] = []

    class Sensor(faust.Sensor):
        def on_stream_event_out(self, *args: Any, **kwargs: Any) -> None:
            seen.append("event out")

        def on_message_out(self, *args: Any, **kwargs: Any) -> None:
            seen.append("message out")

    app, stream = _stream()
    app.sensors.add(Sensor())
    events = channel_events(stream)
    assert events is not None
    events.ack(await _take_all(events, _deliver(app, stream, 0)))
    assert seen == ["event out", "message out"]


async def test_take_after_the_channel_is_told_to_stop_returns_nothing_and_ends() -> None:
    _, stream = _stream()
    events = channel_events(stream)
    assert events is not None
    waiting = asyncio.create_task(events.take(10))
    await asyncio.sleep(0)
    stream.channel._throw(StopAsyncIteration())  # what Faust's actor.cancel() does
    assert await asyncio.wait_for(waiting, 5) == []
    assert events.ended


async def test_take_batches_over_a_faust_stream_yields_what_the_channel_holds() -> None:
    app, stream = _stream()
    events = channel_events(stream)
    assert events is not None
    idle = asyncio.Event()
    idle.set()
    batches = take_batches(stream, 3, 5.0, idle, events=events)
    delivered = _deliver(app, stream, 0, 1, 2, 3, 4)
    try:
        first = await asyncio.wait_for(batches.__anext__(), 5)
        second = await asyncio.wait_for(batches.__anext__(), 5)
    finally:
        await batches.aclose()
    assert first == delivered[:3] and second == delivered[3:]


def test_channel_events_of_something_else_than_a_faust_stream_is_none() -> None:
    assert channel_events(SimpleNamespace(channel=[])) is None


async def test_channel_events_when_faust_changed_is_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_path, "EVENT_PATH_SHA256", "0" * 64)
    event_path.event_path_is_the_copied_one.cache_clear()
    try:
        _, stream = _stream()
        assert channel_events(stream) is None
    finally:
        event_path.event_path_is_the_copied_one.cache_clear()


async def test_the_channel_queue_keeps_mode_pressure_sizes_in_plain_attributes() -> None:
    _, stream = _stream()
    queue = stream.channel.queue
    high, drop = queue.pressure_high_size, queue.pressure_drop_size
    assert channel_events(stream) is not None
    assert type(queue) is event_path._SizedQueue
    assert (queue.pressure_high_size, queue.pressure_drop_size) == (high, drop)
    assert "pressure_high_size" in vars(queue)  # read as a plain attribute now
    pressure: list[str] = []
    for i in range(high + 1):  # as the conductor puts: high pressure reported once
        queue.put_nowait_enhanced(i, on_pressure_high=lambda: pressure.append("high"),
                                  on_pressure_drop=lambda: pressure.append("drop"))
    assert pressure == ["high"]
    while not queue.empty():
        queue.get_nowait()
    assert pressure == ["high", "drop"]
