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
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from mode.utils.aiter import aiter

_IDLE_WAKE_S = 1.0
IDLE_LINGER_S = 0.01
"""How long a batch waits for more events when the caller is idle: the rest of a fetch."""


async def take_batches(stream: Any, max_: int, within: float,
                       idle: asyncio.Event | None = None,
                       fetched: asyncio.Event | None = None) -> AsyncIterator[list[Any]]:
    """Yield lists of at most ``max_`` events from a Faust stream (see the module doc).

    ``idle``, when given, is set by the caller while it could start a batch at once:
    then a batch closes as soon as ``fetched`` is set and the stream's channel holds
    no more events (the rest of the fetch is in), at most ``IDLE_LINGER_S`` after its
    first event, instead of waiting out the window; a batch filling while the
    caller is busy closes as soon as the caller becomes idle.
    """
    buffer: list[Any] = []
    first_at = 0.0  # loop time at which the oldest buffered event arrived
    started = asyncio.Event()  # the buffer holds at least one event
    full = asyncio.Event()  # the buffer holds max_ events
    room = asyncio.Event()  # a full buffer was handed out
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        nonlocal first_at
        try:
            while len(buffer) >= max_:  # strict: never more than max_ in a batch
                room.clear()
                await stream.wait(room)
                if stream.should_stop:
                    return value
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            if not buffer:
                first_at = loop.time()
            buffer.append(event)
            started.set()
            if len(buffer) >= max_:
                full.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # what noack_take does: log, then crash the stream
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    loop = asyncio.get_running_loop()
    acks_were = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            # Returns early when the stream stops; the timeout only bounds a missed wake-up.
            await stream.wait_for_stopped(started, timeout=_IDLE_WAKE_S)
            if not buffer:
                continue
            waited = loop.time() - first_at
            left = within - waited
            if idle is not None and idle.is_set():
                left = min(left, IDLE_LINGER_S - waited)
            if left > 0 and not full.is_set():
                if idle is None:
                    wake: tuple[asyncio.Event, ...] = (full,)
                elif idle.is_set():
                    wake = (full,) if fetched is None else (full, fetched)
                else:
                    wake = (full, idle)
                # mode's wait_first also reports "stopped" on a timeout: ask should_stop.
                await stream.wait_first(*wake, timeout=left)
                if stream.should_stop:
                    break  # never handed out, never acked: delivered again
                if fetched is not None and fetched.is_set() and idle is not None:
                    await _take_delivered(stream, buffer, max_)
            batch = buffer[:]  # never more than max_: add_to_buffer waits for room
            buffer.clear()
            started.clear()
            full.clear()
            room.set()
            yield batch
    finally:
        stream.enable_acks = acks_were
        stream._processors.remove(add_to_buffer)


async def _take_delivered(stream: Any, buffer: list[Any], max_: int) -> None:
    """Let the stream move the events already delivered to its channel into ``buffer``
    (a few turns of the loop at most)."""
    empty = getattr(stream.channel, "empty", None)
    for _ in range(8):
        if len(buffer) >= max_ or empty is None or empty():
            return
        await asyncio.sleep(0)
