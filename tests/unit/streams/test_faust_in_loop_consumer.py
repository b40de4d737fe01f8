"""Faust's consumer on the app's own loop (``ONEXGEN_KAFKA_CONSUMER_THREAD=false``).

The broker side (fetching, committing, rebalancing with another member) is covered by
the integration, failover and chaos tests, which run the worker with the default.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import faust
import pytest

from onexgen.streams import faust_internals
from onexgen.streams.faust_internals import in_loop_consumer_fits, use_fetch_limits


def _app(consumer_thread: bool) -> faust.App:
    app = faust.App("onexgen-test-in-loop", broker="kafka://127.0.0.1:1")
    use_fetch_limits(app, 25, 16384, consumer_thread=consumer_thread)
    return app


class _FakeAiokafka:
    """Stands for the aiokafka consumer Faust builds in ``on_start`` (no broker here)."""

    def __init__(self) -> None:
        self.started_in: int | None = None
        self.stopped = False

    async def start(self) -> None:
        self.started_in = threading.get_ident()

    async def stop(self) -> None:
        self.stopped = True


def test_the_installed_mode_service_thread_overrides_what_the_in_loop_thread_puts_back(
        ) -> None:
    assert in_loop_consumer_fits(), (
        "mode's ServiceThread (or Faust's consumer thread) changed: redo "
        "onexgen.streams.faust_internals._InLoopConsumerThread (until then the worker "
        "keeps Faust's consumer thread)")


async def test_use_fetch_limits_without_consumer_thread_runs_the_consumer_on_the_app_loop(
        ) -> None:
    app = _app(consumer_thread=False)
    thread: Any = app.consumer.consumer_thread  # type: ignore[attr-defined]
    assert isinstance(thread, faust_internals._InLoopConsumerThread)
    assert thread.thread_loop is thread.parent_loop is asyncio.get_running_loop()


async def test_use_fetch_limits_with_consumer_thread_keeps_faust_thread() -> None:
    app = _app(consumer_thread=True)
    thread: Any = app.consumer.consumer_thread  # type: ignore[attr-defined]
    try:
        assert not isinstance(thread, faust_internals._InLoopConsumerThread)
        assert thread.thread_loop is not asyncio.get_running_loop()
    finally:
        thread.thread_loop.close()  # the thread's own loop, never run


async def test_use_fetch_limits_with_a_changed_mode_falls_back_to_the_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_internals, "in_loop_consumer_fits", lambda: False)
    app = _app(consumer_thread=False)
    thread: Any = app.consumer.consumer_thread  # type: ignore[attr-defined]
    try:
        assert app.transport.consumer_thread is True  # type: ignore[attr-defined]
        assert not isinstance(thread, faust_internals._InLoopConsumerThread)
    finally:
        thread.thread_loop.close()


async def test_call_thread_in_loop_awaits_on_the_callers_thread_and_loop() -> None:
    app = _app(consumer_thread=False)
    thread: Any = app.consumer.consumer_thread  # type: ignore[attr-defined]
    seen: list[tuple[int, asyncio.AbstractEventLoop]] = []

    async def coroutine_method(value: int) -> int:
        seen.append((threading.get_ident(), asyncio.get_running_loop()))
        return value + 1

    def plain_method(value: int) -> int:  # Faust passes some plain methods (subscribe)
        return value * 2

    assert await thread.call_thread(coroutine_method, 1) == 2
    assert await thread.call_thread(plain_method, 4) == 8
    assert seen == [(threading.get_ident(), asyncio.get_running_loop())]
    assert thread._method_queue is None  # no queue to another loop was ever made


async def test_in_loop_thread_start_and_stop_run_here_and_stop_the_consumer() -> None:
    app = _app(consumer_thread=False)
    thread: Any = app.consumer.consumer_thread  # type: ignore[attr-defined]
    fake = _FakeAiokafka()
    thread._create_consumer = lambda loop: fake
    threads_before = threading.active_count()
    await thread.maybe_start()
    try:
        assert fake.started_in == threading.get_ident()
        assert thread._thread is None and threading.active_count() == threads_before
        assert not await thread.maybe_start()  # started once only
    finally:
        await asyncio.wait_for(thread.stop(), timeout=5)
    assert fake.stopped
    assert thread.should_stop
