"""The consumer's per-message handoff: delivered, or given up on suspension, stop or crash.

``MessageHandoff`` replaces Faust's ``wait_first(callback(message), suspend_flow.wait())``
in the drain loop (which itself runs in every integration and chaos test).
"""

from __future__ import annotations

import asyncio

import pytest

from onexgen.streams.consumer import MessageHandoff

EVENTS = ("suspend_flow", "stopped", "crashed")


class _Flow:
    """The three events the drain loop watches, its handoff, and a callback that blocks
    until cancelled (noting it in ``outcome``), as one waiting for room in a queue."""

    def __init__(self) -> None:
        self.suspend_flow, self.stopped, self.crashed = (asyncio.Event() for _ in EVENTS)
        self.handoff = MessageHandoff(self.suspend_flow, self.stopped, self.crashed)
        self.outcome: list[str] = []

    async def blocked(self, message: str) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.outcome.append("cancelled")
            raise


async def test_messages_are_delivered_with_the_same_watchers() -> None:
    flow, got = _Flow(), []

    async def callback(message: str) -> None:
        got.append(message)

    await flow.handoff.deliver(callback, "a")
    watchers = flow.handoff._watchers
    await flow.handoff.deliver(callback, "b")
    assert got == ["a", "b"]
    assert flow.handoff._watchers is watchers  # not three new tasks a message
    flow.handoff.close()


@pytest.mark.parametrize("event", EVENTS)
async def test_a_blocked_callback_is_given_up_when_the_flow_is_suspended_or_stops(
    event: str,
) -> None:
    flow = _Flow()
    delivering = asyncio.create_task(flow.handoff.deliver(flow.blocked, "m"))
    await asyncio.sleep(0.01)
    assert not delivering.done()
    getattr(flow, event).set()
    await asyncio.wait_for(delivering, 1)  # returns, no error: the loop goes on
    assert flow.outcome == ["cancelled"]
    flow.handoff.close()


async def test_after_a_resume_the_next_message_is_delivered() -> None:
    flow, got = _Flow(), []

    async def callback(message: str) -> None:
        got.append(message)

    flow.suspend_flow.set()
    await flow.handoff.deliver(callback, "during")  # may or may not run: Faust's too
    flow.suspend_flow.clear()
    await asyncio.sleep(0)
    await flow.handoff.deliver(callback, "after")
    assert got[-1] == "after"
    assert flow.handoff._watchers is not None
    assert not any(w.done() for w in flow.handoff._watchers)
    flow.handoff.close()


async def test_a_failing_callback_raises_in_the_loop() -> None:
    flow = _Flow()

    async def failing(message: str) -> None:
        raise ValueError(message)

    with pytest.raises(ValueError, match="bad"):
        await flow.handoff.deliver(failing, "bad")
    flow.handoff.close()


async def test_cancelling_the_loop_cancels_the_callback_and_propagates() -> None:
    flow = _Flow()
    delivering = asyncio.create_task(flow.handoff.deliver(flow.blocked, "m"))
    await asyncio.sleep(0.01)
    delivering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delivering
    assert flow.outcome == ["cancelled"]
    flow.handoff.close()


async def test_a_whole_fetch_runs_in_one_task_and_reports_it_finished() -> None:
    flow, got, tasks = _Flow(), [], set()

    async def fetch(messages: list[str]) -> None:
        for m in messages:
            tasks.add(asyncio.current_task())
            got.append(m)
            await asyncio.sleep(0)

    assert await flow.handoff.run(fetch(["a", "b", "c"])) is True
    assert got == ["a", "b", "c"]
    assert len(tasks) == 1  # one task for the fetch, not one a message
    flow.handoff.close()


@pytest.mark.parametrize("event", EVENTS)
async def test_a_fetch_is_given_up_midway_when_the_flow_is_suspended_or_stops(
    event: str,
) -> None:
    flow, got = _Flow(), []

    async def fetch(messages: list[str]) -> None:
        for m in messages:
            if m == "blocked":
                await flow.blocked(m)
            got.append(m)

    running = asyncio.create_task(flow.handoff.run(fetch(["a", "blocked", "never"])))
    await asyncio.sleep(0.01)
    assert got == ["a"] and not running.done()
    getattr(flow, event).set()
    assert await asyncio.wait_for(running, 1) is False  # given up, no error
    assert got == ["a"] and flow.outcome == ["cancelled"]
    flow.handoff.close()
