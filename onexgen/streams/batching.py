"""Batches of un-acked events that follow the load: small and prompt when idle, full when busy.

Faust's ``noack_take(max, within)`` wakes on a fixed ``within`` tick, so a
message arriving just after a tick waits out the whole window even when the
pool is idle, and it stops buffering while the agent works on a batch, so the
next batch starts empty. ``take_batches`` differs in three ways:

* a batch closes ``within`` seconds after its *first* event (or when it holds
  ``max_``), so at low load a message waits at most ``within`` and usually
  much less;
* events keep arriving in the buffer (up to ``max_``) while the agent is busy
  with earlier batches, so under load, when messages queue up, the next batch
  is already full when the agent asks for it. The batch size adapts to the
  backlog without measuring it;
* when the agent says it is idle (for the codegen agent: its pool has no batch
  to generate), a batch does not wait out the window at all: the pool would sit
  idle while requests wait. It closes once the events of the same fetch are in
  (``fetched``: set by the drain loop when a fetch is delivered; without it, after
  ``IDLE_LINGER_S``), or, if it started filling while the agent was busy, the
  moment the agent becomes idle.

Like ``noack_take`` it turns the stream's own acks off: the caller acks each
event once its result is durable. Events still in the buffer when the stream
stops were never handed out, are never acked, and are delivered again.

The events come in one of two ways: with ``events`` (``faust_internals.event_path``), one
task takes whatever the stream's channel holds, a delivery at a time, without Faust's
stream iterator (a loop turn, a queue ``get`` and a processor call an event); without it
(a Faust whose per-event code is not the copied one), through Faust's iterator and a
processor that buffers each event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from mode.utils.aiter import aiter

from onexgen.streams.faust_internals.event_path import ChannelEvents

_IDLE_WAKE_S = 1.0
IDLE_LINGER_S = 0.01
"""How long a batch waits for more events when the caller is idle: the rest of a fetch."""


async def take_batches(stream: Any, max_: int, within: float,
                       idle: asyncio.Event | None = None,
                       fetched: asyncio.Event | None = None,
                       events: ChannelEvents | None = None) -> AsyncGenerator[list[Any], None]:
    """Yield lists of at most ``max_`` events from a Faust stream (see the module doc).

    ``idle``, when given, is set by the caller while it could start a batch at once:
    then a batch closes as soon as ``fetched`` is set and the stream's channel holds
    no more events (the rest of the fetch is in), at most ``IDLE_LINGER_S`` after its
    first event, instead of waiting out the window; a batch filling while the
    caller is busy closes as soon as the caller becomes idle. ``events``, when given
    (``faust_internals.channel_events(stream)``), takes the events straight from the
    stream's channel, a delivery at a time, instead of through Faust's stream iterator.
    """
    buf = _Buffer(max_, asyncio.get_running_loop())
    feed = _ChannelFeed(stream, buf, events) if events is not None else _ProcessorFeed(
        stream, buf)
    async with feed:
        while not (stream.should_stop or feed.ended):
            # Returns early when the stream stops; the timeout only bounds a missed wake-up.
            await stream.wait_for_stopped(buf.started, timeout=_IDLE_WAKE_S)
            if not buf.items:
                continue
            waited = buf.loop.time() - buf.first_at
            left = within - waited
            if idle is not None and idle.is_set():
                left = min(left, IDLE_LINGER_S - waited)
            if left > 0 and not buf.full.is_set():
                if idle is None:
                    wake: tuple[asyncio.Event, ...] = (buf.full,)
                elif idle.is_set():
                    wake = (buf.full,) if fetched is None else (buf.full, fetched)
                else:
                    wake = (buf.full, idle)
                # mode's wait_first also reports "stopped" on a timeout: ask should_stop.
                await stream.wait_first(*wake, timeout=left)
                if stream.should_stop or feed.ended:
                    break  # never handed out, never acked: delivered again
                if fetched is not None and fetched.is_set() and idle is not None:
                    await feed.take_delivered()
            yield buf.hand_out()


class _Buffer:
    """The events taken so far, and the signals ``take_batches`` waits on."""

    def __init__(self, max_: int, loop: asyncio.AbstractEventLoop) -> None:
        self.max_, self.loop = max_, loop
        self.items: list[Any] = []
        self.first_at = 0.0  # loop time at which the oldest buffered event arrived
        self.started = asyncio.Event()  # the buffer holds at least one event
        self.full = asyncio.Event()  # the buffer holds max_ events
        self.room = asyncio.Event()  # a full buffer was handed out
        self.room.set()

    def add(self, events: list[Any]) -> None:
        if not events:
            return
        if not self.items:
            self.first_at = self.loop.time()
        self.items.extend(events)
        self.started.set()
        if len(self.items) >= self.max_:
            self.full.set()

    def hand_out(self) -> list[Any]:
        batch = self.items[:]  # never more than max_: the feeds wait for room
        self.items.clear()
        self.started.clear()
        self.full.clear()
        self.room.set()
        return batch

    async def wait_for_room(self, stream: Any) -> bool:
        """False when the stream stopped while the buffer was full."""
        while len(self.items) >= self.max_:  # strict: never more than max_ in a batch
            self.room.clear()
            await stream.wait(self.room)
            if stream.should_stop:
                return False
        return True


class _ProcessorFeed:
    """Faust's own path: the stream iterator runs a processor that buffers each event."""

    ended = False

    def __init__(self, stream: Any, buf: _Buffer) -> None:
        self.stream, self.buf = stream, buf
        self.acks_were = stream.enable_acks

    async def add_to_buffer(self, value: Any) -> Any:
        stream = self.stream
        try:
            if not await self.buf.wait_for_room(stream):
                return value
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            self.buf.add([event])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # what noack_take does: log, then crash the stream
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    async def __aenter__(self) -> _ProcessorFeed:
        stream = self.stream
        stream.enable_acks = False
        stream.add_processor(self.add_to_buffer)
        stream._enable_passive(aiter(stream.channel))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stream.enable_acks = self.acks_were
        self.stream._processors.remove(self.add_to_buffer)

    async def take_delivered(self) -> None:
        """Let the stream move the events already delivered to its channel into the
        buffer (a few turns of the loop at most)."""
        empty = getattr(self.stream.channel, "empty", None)
        for _ in range(8):
            if len(self.buf.items) >= self.buf.max_ or empty is None or empty():
                return
            await asyncio.sleep(0)


class _ChannelFeed:
    """One task takes whatever the channel holds into the buffer, a delivery at a time."""

    def __init__(self, stream: Any, buf: _Buffer, events: ChannelEvents) -> None:
        self.stream, self.buf, self.events = stream, buf, events
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    @property
    def ended(self) -> bool:
        """The channel said stop, or taking from it failed (the stream was crashed)."""
        return self.events.ended or self._failed

    async def _pump(self) -> None:
        stream, buf, events = self.stream, self.buf, self.events
        try:
            while not (stream.should_stop or events.ended):
                if not await buf.wait_for_room(stream):
                    return
                buf.add(await events.take(buf.max_ - len(buf.items)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # as the processor path: log, then crash the stream
            self._failed = True
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        finally:
            buf.started.set()  # wake take_batches to see the end

    async def __aenter__(self) -> _ChannelFeed:
        await self.events.__aenter__()
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.events.__aexit__(*exc_info)

    async def take_delivered(self) -> None:
        """Take the events already delivered to the channel (no waiting)."""
        self.buf.add(self.events.take_ready(self.buf.max_ - len(self.buf.items)))
