"""What ``streams.faust_internals`` relies on in the installed Faust, and its fallbacks.

The first three tests fail loudly when Faust changes under us: each names what
to redo. The others show that a changed Faust still runs (on its own code).
"""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.producer import ProducerBuffer

from onexgen.streams import faust_internals
from onexgen.streams.faust_internals import (
    BoundedFetchTransport,
    abandon,
    add_service,
    consumer_thread_hook_exists,
    dispatch,
    drain_loop_is_the_copied_one,
    fetch_delivered,
    fetch_wait,
    prompt_fetches,
    use_fetch_limits,
)


def _app() -> faust.App:
    return faust.App("onexgen-test-internals", broker="kafka://127.0.0.1:1")


def test_the_installed_faust_drain_loop_is_the_one_we_copy() -> None:
    assert drain_loop_is_the_copied_one(), (
        "faust's Consumer._drain_messages changed: port the change into "
        "onexgen.streams.faust_internals._Consumer._drain_messages, then update "
        "DRAIN_LOOP_SHA256 (until then the worker runs Faust's own loop)")


def test_the_installed_faust_builds_its_worker_consumer_in_the_hooked_method() -> None:
    assert consumer_thread_hook_exists(), (
        "faust's AIOKafkaConsumerThread._create_worker_consumer is gone: find where Faust "
        "builds its aiokafka consumer and redo _ConsumerThread (until then the worker "
        "fetches with Faust's limits)")


def test_the_installed_faust_starts_service_instances_from_its_extra_services() -> None:
    app = _app()
    service = faust.Service()
    assert isinstance(getattr(app, "_extra_services", None), list), (
        "faust.App._extra_services is gone: redo faust_internals.add_service")
    assert app._prepare_subservice(service) is service, (
        "faust no longer starts instances from _extra_services: redo add_service")


def test_use_fetch_limits_installs_the_copied_loop_and_the_limits() -> None:
    app = _app()
    use_fetch_limits(app, 25, 16384)
    transport = app.transport
    assert type(transport) is BoundedFetchTransport
    assert (transport.fetch_max_wait_ms, transport.fetch_min_bytes) == (25, 16384)
    consumer: Any = transport.Consumer
    assert consumer._drain_messages is not FaustConsumer._drain_messages


def test_use_fetch_limits_with_a_changed_drain_loop_runs_faust_own_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_internals, "DRAIN_LOOP_SHA256", "0" * 64)
    app = _app()
    use_fetch_limits(app, 25, 16384)
    transport = app.transport
    assert isinstance(transport, BoundedFetchTransport)
    assert transport.fetch_max_wait_ms == 25
    consumer: Any = transport.Consumer
    assert consumer._drain_messages is FaustConsumer._drain_messages


def test_use_fetch_limits_without_the_consumer_hook_leaves_faust_transport(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_internals, "consumer_thread_hook_exists", lambda: False)
    app = _app()
    use_fetch_limits(app, 25, 16384)
    assert not isinstance(app.transport, BoundedFetchTransport)


def test_add_service_appends_the_instance_to_faust_extra_services() -> None:
    app = _app()
    service = faust.Service()
    add_service(app, service)
    extra: list[Any] = app._extra_services  # instances, though typed as classes
    assert extra[-1] is service


def test_add_service_without_extra_services_falls_back_to_add_dependency() -> None:
    class Bare:
        def __init__(self) -> None:
            self.dependencies: list[Any] = []

        def add_dependency(self, service: Any) -> Any:
            self.dependencies.append(service)
            return service

    bare, service = Bare(), faust.Service()
    add_service(bare, service)  # type: ignore[arg-type]  # an app without the private list
    assert bare.dependencies == [service]


def test_fetch_delivered_is_our_drain_loop_event_and_none_on_faust_own_loop() -> None:
    event = asyncio.Event()
    ours = SimpleNamespace(consumer=SimpleNamespace(fetch_delivered=event))
    assert fetch_delivered(ours) is event  # type: ignore[arg-type]  # an app's consumer
    theirs = SimpleNamespace(consumer=object())
    assert fetch_delivered(theirs) is None  # type: ignore[arg-type]
    assert hasattr(BoundedFetchTransport.Consumer, "fetch_delivered")
    assert not hasattr(faust_internals._FaustLoopTransport.Consumer, "fetch_delivered")


def test_abandon_takes_records_off_faust_unacked_set_without_acking() -> None:
    message, other = SimpleNamespace(acked=False), SimpleNamespace(acked=False)
    unacked = {id(message): message, id(other): other}

    class Unacked:
        def discard(self, item: Any) -> None:
            unacked.pop(id(item), None)

    app = SimpleNamespace(consumer=SimpleNamespace(_unacked_messages=Unacked()))
    abandon(app, [SimpleNamespace(message=message)])  # type: ignore[arg-type]  # an app
    assert list(unacked.values()) == [other] and not message.acked


def test_abandon_without_faust_unacked_set_acks_the_records() -> None:
    acked: list[str] = []
    event = SimpleNamespace(ack=lambda: acked.append("x"))
    abandon(SimpleNamespace(consumer=object()), [event])  # type: ignore[arg-type]
    assert acked == ["x"]


def test_the_installed_faust_consumer_keeps_unacked_messages_in_a_set() -> None:
    source = inspect.getsource(FaustConsumer.__init__)  # no consumer built: no event loop
    assert "self._unacked_messages = WeakSet()" in source, \
        "redo onexgen.streams.faust_internals.abandon"


@pytest.mark.parametrize("consumer_thread", [True, False])
async def test_the_consumer_thread_keeps_the_aiokafka_consumer_it_builds(
        consumer_thread: bool) -> None:
    app = _app()
    use_fetch_limits(app, 25, 16384, consumer_thread=consumer_thread)
    consumer: Any = app.consumer
    thread = consumer.consumer_thread
    assert thread is not None, "our consumer no longer records its consumer thread"
    built = thread._create_worker_consumer(app.transport)
    try:
        assert thread.worker_consumer is built
        assert built._fetch_min_bytes == 16384
    finally:
        await built.stop()  # never started: only so that it is not reported as unclosed
        if consumer_thread:
            thread.thread_loop.close()  # the thread's own loop, never run


def _app_with_fetcher(min_bytes: int) -> tuple[Any, Any]:
    fetcher = SimpleNamespace(_fetch_min_bytes=min_bytes)
    consumer = SimpleNamespace(_fetcher=fetcher)
    app = SimpleNamespace(transport=SimpleNamespace(fetch_min_bytes=min_bytes),
                          consumer=SimpleNamespace(
                              consumer_thread=SimpleNamespace(worker_consumer=consumer)))
    return app, fetcher


def test_prompt_fetches_asks_for_one_byte_when_prompt_and_the_setting_otherwise() -> None:
    app, fetcher = _app_with_fetcher(16384)
    switch = prompt_fetches(app)
    switch(True)
    assert fetcher._fetch_min_bytes == 1
    switch(False)
    assert fetcher._fetch_min_bytes == 16384


def test_prompt_fetches_before_the_consumer_runs_applies_on_the_next_switch() -> None:
    app, fetcher = _app_with_fetcher(16384)
    thread = app.consumer.consumer_thread
    consumer, thread.worker_consumer = thread.worker_consumer, None
    switch = prompt_fetches(app)
    switch(True)  # no consumer yet: nothing to change, and not remembered as done
    thread.worker_consumer = consumer
    switch(True)
    assert fetcher._fetch_min_bytes == 1


def test_prompt_fetches_with_faust_own_consumer_does_nothing() -> None:
    app = SimpleNamespace(transport=object(), consumer=object())
    prompt_fetches(app)(True)  # type: ignore[arg-type]  # no consumer thread of ours


def test_fetch_wait_sets_the_running_fetcher_wait_once_the_consumer_runs() -> None:
    app, fetcher = _app_with_fetcher(16384)
    fetcher._fetch_max_wait_ms = 10
    thread = app.consumer.consumer_thread
    consumer, thread.worker_consumer = thread.worker_consumer, None
    set_wait = fetch_wait(app)
    set_wait(120)  # not started: nothing to change, and not remembered as done
    assert fetcher._fetch_max_wait_ms == 10
    thread.worker_consumer = consumer
    set_wait(120)
    assert (fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes) == (120, 16384)
    set_wait(10)
    assert fetcher._fetch_max_wait_ms == 10
    fetch_wait(SimpleNamespace(consumer=object()))(120)  # type: ignore[arg-type]  # Faust's


def test_the_installed_faust_producer_buffer_size_is_the_one_we_shortcut() -> None:
    source = inspect.getsource(ProducerBuffer.size.fget)  # type: ignore[attr-defined]
    assert "conf.producer_threaded" in source and "self.pending._queue" in source, (
        "faust's ProducerBuffer.size changed: redo faust_internals._ProducerBuffer.size")


async def test_the_transport_producer_buffer_counts_pending_messages_like_faust() -> None:
    app = _app()
    use_fetch_limits(app, 25, 16384)
    buffer: Any = app.producer.buffer
    assert type(buffer) is faust_internals._ProducerBuffer
    assert buffer.size == ProducerBuffer.size.fget(buffer) == 0  # type: ignore[attr-defined]
    buffer.pending.put_nowait(object())
    assert buffer.size == ProducerBuffer.size.fget(buffer) == 1  # type: ignore[attr-defined]
    assert buffer._threaded is False  # read once, then kept


def test_the_installed_faust_conductor_dispatches_as_unlocked_dispatch_expects() -> None:
    assert dispatch.conductor_handler_is_the_known_one(), (
        "faust's Conductor._compile_message_handler changed: redo "
        "onexgen.streams.faust_internals.unlocked_dispatch, then update "
        "CONDUCTOR_HANDLER_SHA256 (until then every message takes the conductor's lock)")


def _conductor_app() -> tuple[faust.App, list[str]]:
    app = _app()
    seen: list[str] = []

    async def handler(message: Any) -> None:
        seen.append(message.tp.topic)

    conductor: Any = app.topics
    conductor._tp_to_callback[faust.types.TP("t", 0)] = handler
    return app, seen


async def test_unlocked_dispatch_calls_the_partition_handler_while_nobody_holds_the_lock(
        ) -> None:
    app, seen = _conductor_app()
    faust_handler_calls: list[Any] = []

    async def counting(message: Any) -> None:
        faust_handler_calls.append(message)
        await app.topics.on_message(message)

    app.topics.on_message = counting  # the consumer's callback is the conductor's handler
    dispatch = faust_internals.unlocked_dispatch(app.topics.on_message, app)
    await dispatch(SimpleNamespace(tp=faust.types.TP("t", 0)))
    assert seen == ["t"] and not faust_handler_calls


async def test_unlocked_dispatch_waits_for_a_resubscription_holding_the_lock() -> None:
    app, seen = _conductor_app()
    dispatch = faust_internals.unlocked_dispatch(app.topics.on_message, app)
    conductor: Any = app.topics
    lock = conductor._tp_to_callback_lock
    await lock.acquire()  # a resubscription rebuilding the table
    delivery = asyncio.ensure_future(dispatch(SimpleNamespace(tp=faust.types.TP("t", 0))))
    await asyncio.sleep(0.01)
    assert not delivery.done() and seen == []
    lock.release()
    await asyncio.wait_for(delivery, 5)
    assert seen == ["t"]


async def test_unlocked_dispatch_for_an_unknown_partition_raises_as_faust_does() -> None:
    app, _ = _conductor_app()
    dispatch = faust_internals.unlocked_dispatch(app.topics.on_message, app)
    with pytest.raises(KeyError):
        await dispatch(SimpleNamespace(tp=faust.types.TP("other", 0)))


def test_unlocked_dispatch_with_a_changed_conductor_is_faust_own_handler(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    monkeypatch.setattr(dispatch, "CONDUCTOR_HANDLER_SHA256", "0" * 64)
    callback = app.topics.on_message
    assert faust_internals.unlocked_dispatch(callback, app) is callback

    async def other(message: Any) -> None:
        return None

    monkeypatch.undo()
    assert faust_internals.unlocked_dispatch(other, app) is other  # not the conductor's
