"""A Faust stream's events taken a delivery at a time, and acknowledged a batch at a time.

Faust hands each event to a stream's consumer through its stream iterator (the Cython
``StreamIterator`` or its Python twin ``Stream._py_aiter``): an ``await sleep(0)`` a
event, the channel queue's ``get``, the processors (``take_batches``' buffer is one) and
an async generator's resumption, all per event; and each ``Stream.ack`` goes through
``Event.ack`` to ``Message.ack`` and the sensors. ``ChannelEvents`` does the iterator's
per-event bookkeeping (flow control and generation check, tracking the message as
unacknowledged, the stream-in sensor) for every event already in the stream's channel
queue at once, and ``ack`` acknowledges a list of events with ``Message.ack`` under
Faust's ``ack_lock`` taken once. The agent still consumes its stream: the same channel,
the same conductor, the same offsets committed only once every event is acknowledged
(and a gap still holds the commit back: ``Message.ack`` -> ``Consumer.ack`` is Faust's).

Used only when Faust's per-event code is, byte for byte, the code this copies (SHA-256
of ``Stream._py_aiter``, ``Stream.ack`` and ``Event.ack``, checked once); otherwise
:func:`channel_events` returns None and the caller uses Faust's stream iterator and
``Stream.ack`` (a warning is logged), and a test fails until the copy is redone.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import structlog
from faust import Stream
from faust.events import Event
from faust.types import EventT
from faust.types import tuples as faust_tuples
from mode.utils.queues import ThrowableQueue

from onexgen.streams.lean import LeanMonitor
from onexgen.support.pinned import source_hash

log = structlog.get_logger("onexgen.streams.faust")

EVENT_PATH_SHA256 = "06bf2871275fdbb0aaca3aeeceeb268f4f69cbf4b55220b29e94e69333fe2901"
"""Of faust-streaming 0.15.3's ``Stream._py_aiter``, ``Stream.ack`` and ``Event.ack``."""


def event_path_source_hash() -> str | None:
    """SHA-256 of the installed Faust's per-event stream code (None if unreadable)."""
    return source_hash(getattr(Stream, "_py_aiter", None), getattr(Stream, "ack", None),
                       getattr(Event, "ack", None))


@cache
def event_path_is_the_copied_one() -> bool:
    """Whether the installed Faust's per-event code is the one ``ChannelEvents`` copies."""
    return event_path_source_hash() == EVENT_PATH_SHA256


class _SizedQueue(ThrowableQueue):  # type: ignore[type-arg]  # mode's queue is generic
    """mode's channel queue with its pressure sizes as plain attributes: mode computes
    them in a ``cached_property``, whose ``__get__`` (a data descriptor: Python code)
    runs on every put the conductor makes."""

    pressure_high_size = 0  # shadowed by the instance's own values (see _plain_sizes)
    pressure_drop_size = 0


def _plain_sizes(queue: Any) -> None:
    """Swap a channel queue that is exactly mode's for ``_SizedQueue`` (same object)."""
    if type(queue) is ThrowableQueue:
        _ = queue.pressure_high_size, queue.pressure_drop_size  # computed and kept by mode
        queue.__class__ = _SizedQueue


class ChannelEvents:
    """The events in a Faust stream's channel, taken as the stream iterator would take
    them (see the module docstring); ``async with`` starts and stops the stream as the
    iterator does."""

    def __init__(self, stream: Any) -> None:
        app = stream.app
        self._stream = stream
        self._app = app
        self._queue = stream.channel.queue
        _plain_sizes(self._queue)
        self._flow_control = app.flow_control
        self._conductor = app.topics
        self._consumer = app.consumer
        self._add_unacked = app.consumer._unacked_messages.add
        self._on_message_in = stream._on_message_in
        self._on_stream_event_in = stream._on_stream_event_in
        self._on_stream_event_out = stream._on_stream_event_out
        self._on_message_out = stream._on_message_out
        self._ack_lock = faust_tuples.ack_lock
        self._started_here = False
        self.ended = False
        """Set once the channel said stop (the agent is being stopped or cancelled)."""

    async def __aenter__(self) -> ChannelEvents:
        self._stream._finalized = True  # as the iterator: no processors added from now
        self._started_here = bool(await self._stream.maybe_start())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._stream._channel_stop_iteration(self._stream.channel)
        if self._started_here:
            await self._stream.stop()
            self._stream.service_reset()

    async def take(self, limit: int) -> list[Any]:
        """At most ``limit`` events: waits for the first, then takes what is already there.

        Empty when what came were stale events (acknowledged, as Faust does) or when the
        channel said stop (``ended``). Other exceptions thrown into the channel propagate.
        """
        try:
            first = await self._queue.get()
        except StopAsyncIteration:
            self.ended = True
            return []
        return self._prepare([first], limit)

    def waiting(self) -> int:
        """How many events the channel holds, not yet taken."""
        return int(self._queue.qsize())

    def take_ready(self, limit: int) -> list[Any]:
        """At most ``limit`` events already in the channel, without waiting."""
        return self._prepare([], limit)

    def _prepare(self, values: list[Any], limit: int) -> list[Any]:
        queue = self._queue
        try:
            while len(values) < limit and not queue.empty():
                values.append(queue.get_nowait())
        except StopAsyncIteration:
            self.ended = True
        events: list[Any] = []
        stale: list[Any] = []
        stream = self._stream
        app = self._app
        active = self._flow_control.is_active()
        acking = self._conductor.acking_topics
        for value in values:
            if not isinstance(value, EventT):
                raise RuntimeError(f"a stream's channel held {type(value).__name__}, not an "
                                   "event: ChannelEvents reads channels of topics only")
            message = value.message
            if not active or message.generation_id != app.consumer_generation_id:
                stale.append(value)  # from before a rebalance: Faust acks and skips them
                continue
            tp, offset = message.tp, message.offset
            if message.topic in acking and not message.tracked:
                message.tracked = True
                self._add_unacked(message)
                self._on_message_in(tp, offset, message)
            self._on_stream_event_in(tp, offset, stream, value)
            events.append(value)
        stream.events_total += len(events)
        if stale:
            self.ack(stale)
        return events

    def ack(self, events: Iterable[Any]) -> None:
        """Acknowledge ``events`` (once each result is durable): ``Stream.ack`` for each,
        with Faust's ack lock taken once and the consumer looked up once."""
        consumer = self._consumer
        stream = self._stream
        # Sensors whose "out" hooks all do nothing need not be called for each event.
        sensors_out = not all(isinstance(s, LeanMonitor) for s in self._app.sensors)
        with self._ack_lock:
            for event in events:
                message = event.message
                last = message.ack(consumer)
                if sensors_out:
                    self._on_stream_event_out(message.tp, message.offset, stream, event)
                    if last:
                        self._on_message_out(message.tp, message.offset, message)


_REQUIRED = ("app", "channel", "maybe_start", "stop", "service_reset", "events_total",
             "_channel_stop_iteration", "_on_message_in", "_on_stream_event_in",
             "_on_stream_event_out", "_on_message_out")


def channel_events(stream: Any) -> ChannelEvents | None:
    """A :class:`ChannelEvents` for ``stream``, or None (then use Faust's iterator and
    ``Stream.ack``) when it is not a Faust stream or Faust's per-event code changed."""
    if not isinstance(stream, Stream):
        return None
    if not event_path_is_the_copied_one():
        log.warning("faust_internals_changed", fallback="faust's stream iterator and acks",
                    fix="redo onexgen.streams.faust_internals.event_path.ChannelEvents for "
                    "this Faust's Stream._py_aiter and Stream.ack, then update its hash")
        return None
    queue = getattr(getattr(stream, "channel", None), "queue", None)
    consumer = stream.app.consumer
    if (any(not hasattr(stream, name) for name in _REQUIRED)
            or not all(callable(getattr(queue, n, None))
                       for n in ("get", "get_nowait", "empty", "qsize"))
            or not hasattr(getattr(consumer, "_unacked_messages", None), "add")
            or not hasattr(stream.app, "consumer_generation_id")
            or not hasattr(getattr(faust_tuples, "ack_lock", None), "__enter__")):
        log.warning("faust_internals_changed", fallback="faust's stream iterator and acks",
                    fix="redo onexgen.streams.faust_internals.event_path for this Faust")
        return None
    return ChannelEvents(stream)
