"""take_batches: when a batch closes, how it fills while the agent is busy, what it restores.

The stream here is a stand-in with the few members of a Faust stream that
``take_batches`` uses (processors, the current event, ``wait``); the real
agent over Kafka is exercised by the integration and chaos tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from onexgen.streams import batching
from onexgen.streams.batching import take_batches


@dataclass
class _Waited:
    stopped: bool


class StreamStandIn:
    """Delivers values through the processors one at a time, as Faust's passive drainer does."""

    def __init__(self) -> None:
        self.enable_acks = True
        self.should_stop = False
        self.current_event: Any = None
        self.channel: list[Any] = []
        self.log = logging.getLogger("test.batching")
        self._processors: list[Any] = []
        self._stopped = asyncio.Event()

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel: Any) -> None:
        pass

    async def wait_first(self, *events: asyncio.Event,
                         timeout: float | None = None) -> _Waited:  # noqa: ASYNC109 - mode's
        """As mode's ``Service.wait_first``: ``stopped`` is also True when it timed out."""
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        stopped = asyncio.ensure_future(self._stopped.wait())
        done, pending = await asyncio.wait([*waiters, stopped], timeout=timeout,
                                           return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return _Waited(stopped in done or not done)

    async def wait(self, room: asyncio.Event) -> _Waited:
        return await self.wait_first(room)

    async def wait_for_stopped(self, event: asyncio.Event,
                               timeout: float | None = None) -> bool:  # noqa: ASYNC109 - mode's
        return (await self.wait_first(event, timeout=timeout)).stopped

    async def crash(self, exc: BaseException) -> None:
        raise AssertionError(f"stream crashed: {exc!r}")

    async def deliver(self, value: Any) -> None:
        """One event through the processors; returns once they let it pass."""
        self.current_event = value
        for processor in self._processors:
            await processor(value)

    def stop(self) -> None:
        self.should_stop = True
        self._stopped.set()


async def _next(batches: AsyncIterator[list[Any]]) -> list[Any]:
    return await asyncio.wait_for(batches.__anext__(), 5.0)


async def _started(stream: StreamStandIn, batches: AsyncIterator[list[Any]]
                   ) -> asyncio.Task[list[Any]]:
    """Ask for the first batch in the background; returns once the processor is installed."""
    task = asyncio.ensure_future(_next(batches))
    while not stream._processors:  # noqa: ASYNC110 - the generator installs it on its first step
        await asyncio.sleep(0)
    return task


async def _full_first_batch(stream: StreamStandIn, size: int
                            ) -> tuple[AsyncIterator[list[Any]], list[Any]]:
    """Batches of ``size`` with a 60 s window; delivers 0..size-1 and takes the first batch
    (a full batch that waited for the window would time ``_next``'s 5 s out)."""
    batches = take_batches(stream, size, within=60.0)
    first = await _started(stream, batches)
    for i in range(size):
        await stream.deliver(i)
    return batches, await first


async def test_full_batch_is_handed_out_at_once_without_waiting_for_the_window() -> None:
    _, first = await _full_first_batch(StreamStandIn(), 3)
    assert first == [0, 1, 2]


async def test_events_arriving_while_the_agent_is_busy_fill_the_next_batch() -> None:
    stream = StreamStandIn()
    batches, first = await _full_first_batch(stream, 4)
    assert first == [0, 1, 2, 3]
    # The agent works on that batch and has not asked for the next one yet.
    for i in range(4, 8):
        await stream.deliver(i)
    blocked = asyncio.ensure_future(stream.deliver(8))  # a fifth would exceed the batch
    await asyncio.sleep(0.05)
    assert not blocked.done()
    assert await _next(batches) == [4, 5, 6, 7]
    await asyncio.wait_for(blocked, 5)
    stream.stop()


async def test_partial_batch_closes_one_window_after_its_first_event() -> None:
    stream = StreamStandIn()
    within = 0.3
    batches = take_batches(stream, 100, within=within)
    first = await _started(stream, batches)
    started = time.monotonic()
    await stream.deliver("a")
    await asyncio.sleep(within / 2)
    await stream.deliver("b")
    assert await first == ["a", "b"]
    waited = time.monotonic() - started
    # Not before the window; and not a whole window after the second event.
    assert within * 0.9 <= waited < within * 1.45, waited


async def test_events_left_waiting_longer_than_the_window_go_out_without_more_wait() -> None:
    stream = StreamStandIn()
    within = 0.2
    batches = take_batches(stream, 100, within=within)
    first = await _started(stream, batches)
    await stream.deliver("a")
    assert await first == ["a"]
    await stream.deliver("b")  # arrives while the agent is busy ...
    await asyncio.sleep(within * 1.5)  # ... for longer than a window
    asked = time.monotonic()
    assert await _next(batches) == ["b"]
    assert time.monotonic() - asked < within / 2


async def test_closing_restores_acks_and_removes_the_processor() -> None:
    stream = StreamStandIn()
    batches, first = await _full_first_batch(stream, 2)
    assert stream.enable_acks is False
    assert first == [0, 1]
    await batches.aclose()  # type: ignore[attr-defined]
    assert stream.enable_acks is True
    assert stream._processors == []


async def test_stop_ends_the_iteration_and_unhanded_events_are_not_returned() -> None:
    stream = StreamStandIn()
    batches = take_batches(stream, 10, within=60.0)
    first = await _started(stream, batches)
    await stream.deliver("never handed out")
    stream.stop()
    with pytest.raises(StopAsyncIteration):
        await first


async def test_idle_caller_gets_a_lone_event_without_waiting_out_the_window() -> None:
    stream = StreamStandIn()
    idle = asyncio.Event()
    idle.set()
    batches = take_batches(stream, 50, within=60.0, idle=idle)
    first = await _started(stream, batches)
    await stream.deliver("alone")
    assert await first == ["alone"]  # after the short linger, not 60 s
    stream.stop()


async def test_busy_caller_batch_keeps_filling_until_the_caller_becomes_idle() -> None:
    stream = StreamStandIn()
    idle = asyncio.Event()  # the caller is busy with an earlier batch
    batches = take_batches(stream, 50, within=60.0, idle=idle)
    first = await _started(stream, batches)
    await stream.deliver("a")
    await asyncio.sleep(0.05)  # well past the idle linger: a busy caller's batch keeps filling
    await stream.deliver("b")
    assert not first.done()
    idle.set()  # the earlier batch is done: the pool is free, go now
    assert await first == ["a", "b"]
    stream.stop()


async def test_idle_caller_batch_closes_as_soon_as_its_fetch_is_delivered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batching, "IDLE_LINGER_S", 60.0)  # only the fetch signal can close it
    stream = StreamStandIn()
    idle, fetched = asyncio.Event(), asyncio.Event()
    idle.set()
    batches = take_batches(stream, 50, within=60.0, idle=idle, fetched=fetched)
    first = await _started(stream, batches)
    await stream.deliver("a")
    await stream.deliver("b")
    for _ in range(20):  # the rest of the fetch may still come: the batch stays open
        await asyncio.sleep(0)
    assert not first.done()
    fetched.set()  # the drain loop handed over the whole fetch
    assert await first == ["a", "b"]
    stream.stop()


async def test_busy_caller_batch_ignores_the_fetch_signal_until_the_caller_is_idle() -> None:
    stream = StreamStandIn()
    idle, fetched = asyncio.Event(), asyncio.Event()
    fetched.set()
    batches = take_batches(stream, 50, within=60.0, idle=idle, fetched=fetched)
    first = await _started(stream, batches)
    await stream.deliver("a")
    for _ in range(20):
        await asyncio.sleep(0)
    assert not first.done()
    idle.set()
    assert await first == ["a"]
    stream.stop()
