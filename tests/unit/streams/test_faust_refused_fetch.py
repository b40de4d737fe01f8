"""A fetch the broker refuses (READ ACL revoked) pauses and returns nothing, not a crash.

The behaviour on a real secured broker is in
tests/integration/secure/test_acl_revoked.py; these pin the adapter's logic.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
)
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from onexgen.streams.faust_internals import consume_refused, refusals, use_fetch_limits


@pytest.mark.parametrize("consumer_thread", [True, False])
async def test_getmany_refused_returns_nothing_names_the_acl_until_a_fetch_succeeds(
        monkeypatch: pytest.MonkeyPatch, consumer_thread: bool) -> None:
    answers: list[Any] = [TopicAuthorizationFailedError("p.requests"), {"tp": ["record"]}]

    async def faust_getmany(self: Any, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "getmany", faust_getmany)
    monkeypatch.setattr(refusals, "REFUSED_FETCH_PAUSE_S", 0.0)
    app = faust.App("onexgen-test-refused", broker="kafka://127.0.0.1:1")
    use_fetch_limits(app, 10, 1, consumer_thread=consumer_thread, kafka_user="worker")
    consumer: Any = app.consumer
    thread = consumer.consumer_thread
    try:
        assert consume_refused(app) is None
        assert await thread.getmany(set(), 1.0) == {}
        assert consume_refused(app) == "user 'worker' lacks the READ ACL on topic p.requests"
        assert await thread.getmany(set(), 1.0) == {"tp": ["record"]}
        assert consume_refused(app) is None
    finally:
        if consumer_thread:
            thread.thread_loop.close()  # the thread's own loop, never run


def test_consume_refused_with_faust_own_consumer_is_none() -> None:
    app = faust.App("onexgen-test-refused-own", broker="kafka://127.0.0.1:1")
    try:
        assert consume_refused(app) is None
    finally:
        consumer: Any = app.consumer
        consumer._thread.thread_loop.close()  # Faust's thread's own loop, never run


def _thread_committing_with(monkeypatch: pytest.MonkeyPatch, faust_commit: Any, name: str,
                            consumer_thread: bool) -> tuple[Any, Any, list[BaseException]]:
    """An app whose consumer thread commits with ``faust_commit`` (in place of Faust's) and
    records what would crash the worker; (app, thread, crashed)."""
    crashed: list[BaseException] = []

    async def crash_service(self: Any, exc: BaseException) -> None:
        crashed.append(exc)

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "_commit", faust_commit)
    app = faust.App(name, broker="kafka://127.0.0.1:1")
    use_fetch_limits(app, 10, 1, consumer_thread=consumer_thread, kafka_user="worker")
    consumer: Any = app.consumer
    thread = consumer.consumer_thread
    monkeypatch.setattr(type(thread), "_crash_service", crash_service)
    return app, thread, crashed


@pytest.mark.parametrize("consumer_thread", [True, False])
async def test_commit_refused_keeps_the_worker_up_names_the_group_until_a_commit_succeeds(
        monkeypatch: pytest.MonkeyPatch, consumer_thread: bool) -> None:
    async def faust_commit(self: Any, offsets: Any) -> bool:
        if offsets == "refused":  # as Faust's _commit does with any error: crash, False
            await self.crash(GroupAuthorizationFailedError("p-app"))
            return False
        return True

    app, thread, crashed = _thread_committing_with(
        monkeypatch, faust_commit, "onexgen-test-refused-commit", consumer_thread)
    try:
        assert await thread._commit("refused") is False
        assert consume_refused(app) == "user 'worker' lacks the READ ACL on consumer group p-app"
        assert crashed == []
        await thread.crash(RuntimeError("anything else"))
        assert [type(exc) for exc in crashed] == [RuntimeError]
        assert await thread._commit({"tp": 1}) is True
        assert consume_refused(app) is None
    finally:
        if consumer_thread:
            thread.thread_loop.close()  # the thread's own loop, never run


@pytest.mark.parametrize("consumer_thread", [True, False])
async def test_crash_with_refusal_outside_a_commit_or_other_error_in_one_crashes(
        monkeypatch: pytest.MonkeyPatch, consumer_thread: bool) -> None:
    committing = asyncio.Event()
    release = asyncio.Event()

    async def faust_commit(self: Any, offsets: Any) -> bool:  # as Faust's: crash, False
        committing.set()
        await release.wait()
        await self.crash(offsets)
        return False

    app, thread, crashed = _thread_committing_with(
        monkeypatch, faust_commit, "onexgen-test-refused-scope", consumer_thread)
    try:
        commit = asyncio.create_task(thread._commit(ClusterAuthorizationFailedError()))
        await committing.wait()
        # Another task's refusal while a commit is in flight is not the commit's.
        await thread.crash(TopicAuthorizationFailedError("p.requests"))
        release.set()
        assert await commit is False
        assert [type(exc) for exc in crashed] == [TopicAuthorizationFailedError,
                                                  ClusterAuthorizationFailedError]
        assert consume_refused(app) is None
    finally:
        if consumer_thread:
            thread.thread_loop.close()  # the thread's own loop, never run


def test_the_installed_faust_consumer_thread_commits_in_commit_and_fetches_in_getmany() -> None:
    thread = faust_aiokafka.AIOKafkaConsumerThread
    assert callable(vars(thread).get("_commit")) and callable(vars(thread).get("getmany")), (
        "Faust's consumer thread no longer has _commit / getmany: redo the refusal handling "
        "in onexgen.streams.faust_internals.refusals")


async def test_offsets_of_a_refused_commit_go_with_every_later_commit_until_one_is_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Faust counts a refused commit's offsets as committed and never offers them again;
    ours are kept for the next commit, even with nothing new acknowledged."""
    answers = ["refused", "failed", "taken", "refused"]
    offered: list[dict[str, int]] = []

    async def faust_commit(self: Any, offsets: Any) -> bool:
        offered.append(dict(offsets))
        answer = answers.pop(0)
        if answer == "refused":
            await self.crash(GroupAuthorizationFailedError("p-app"))
        return answer == "taken"

    async def faust_commit_offsets(self: Any, offsets: Any, start_new_transaction: bool = True,
                                   ) -> bool:
        return bool(await self._thread._commit(offsets))

    newly_acked: dict[str, int] = {}

    async def faust_revoked(self: Any, revoked: Any) -> None:
        pass

    app, _thread, crashed = _thread_committing_with(
        monkeypatch, faust_commit, "onexgen-test-refused-retry", consumer_thread=False)
    consumer: Any = app.consumer
    monkeypatch.setattr(FaustConsumer, "_commit_offsets", faust_commit_offsets)
    monkeypatch.setattr(FaustConsumer, "_filter_committable_offsets",
                        lambda self, tps: dict(newly_acked))
    monkeypatch.setattr(FaustConsumer, "on_partitions_revoked", faust_revoked)
    monkeypatch.setattr(faust_aiokafka.Consumer, "assignment", lambda self: {"a", "b"})

    assert await consumer._commit_offsets({"a": 30, "gone": 7}) is False
    assert consumer._filter_committable_offsets([]) == {"a": 30}  # nothing new: still offered
    newly_acked.update(a=25, b=3)
    assert consumer._filter_committable_offsets(["a", "b"]) == {"a": 30, "b": 3}
    # A failure that is not a refusal (the partition rebalanced away) keeps nothing more.
    assert await consumer._commit_offsets({"b": 3}) is False
    assert consumer._filter_committable_offsets([]) == {"a": 30, "b": 3}
    newly_acked.clear()
    assert await consumer._commit_offsets(consumer._filter_committable_offsets([])) is True
    assert consumer._filter_committable_offsets([]) == {}
    assert consume_refused(app) is None and crashed == []
    # A revoked partition's refused offsets are dropped: its next owner commits it.
    assert await consumer._commit_offsets({"a": 40}) is False
    await consumer.on_partitions_revoked({"a"})
    assert consumer._filter_committable_offsets([]) == {}
    assert offered == [{"a": 30, "gone": 7}, {"b": 3}, {"a": 30}, {"a": 40}]
