"""Fetches and offset commits the broker refuses (an ACL revoked) as unready, not a crash.

A fetch the broker refuses for want of a READ ACL (on a topic, or on the group) raises
out of Faust's drain loop, and Faust's consumer thread crashes the worker on any failed
commit. ``ReadRefusals`` (a base of the consumer thread our transport installs) turns
the first into an empty fetch after a pause, declines the second, logs each
(``consume_refused``, naming the ACL) and says why in ``refused`` until a fetch, or a
commit, succeeds: the ``kafka_consume`` health check, which makes the worker unready.

Faust counts a declined commit's offsets as committed and never offers them again, so
a partition with nothing new to acknowledge would keep its old committed offset (and a
restart would deliver again). ``RetriedCommits`` (a base of the worker's consumer) keeps
the refused offsets and adds them to every later commit, one a commit interval, until
the broker takes them.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import faust
import structlog
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from faust.transport.drivers import aiokafka as faust_aiokafka

__all__ = ["REFUSED_FETCH_PAUSE_S", "ReadRefusals", "RetriedCommits", "consume_refused"]

log = structlog.get_logger("onexgen.streams.faust")

REFUSED_FETCH_PAUSE_S = 1.0
"""How long a fetch the broker refused (an ACL revoked) waits before it is tried again."""

_REFUSALS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError)

_committing: ContextVar[bool] = ContextVar("onexgen_faust_committing", default=False)
"""True in the task running ``ReadRefusals._commit`` (and what it awaits), nowhere else."""


class ReadRefusals(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread that stays up when the broker refuses its reads."""

    _refused_fetch: str | None = None
    _refused_commit: str | None = None
    commits_refused = 0
    """How many commits the broker has refused (``RetriedCommits`` keeps their offsets)."""

    @property
    def refused(self) -> str | None:
        """Why the broker refuses our fetches or commits (a READ ACL revoked on a topic or
        the group), until a fetch, or a commit, succeeds again."""
        return self._refused_fetch or self._refused_commit

    async def getmany(self, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109 -- Faust's signature
        """Faust's fetch; one the broker refuses for want of an ACL returns nothing after a
        pause, instead of crashing the worker: it stays up, unready, and reads on where it
        stopped once the ACL is back (nothing was consumed, so nothing is lost)."""
        try:
            records = await super().getmany(active_partitions, timeout)
        except _REFUSALS as exc:
            self._refused_fetch = self._refusal(exc, "fetching again",
                                                pause_s=REFUSED_FETCH_PAUSE_S)
            await asyncio.sleep(REFUSED_FETCH_PAUSE_S)
            return {}
        self._refused_fetch = None
        return records

    async def _commit(self, offsets: Any) -> bool:
        token = _committing.set(True)
        try:
            committed = bool(await super()._commit(offsets))
        finally:
            _committing.reset(token)
        if committed:
            self._refused_commit = None
        return committed

    async def crash(self, exc: BaseException) -> None:
        """Faust crashes the worker when a commit fails. One the broker refuses for want of
        an ACL does not: ``RetriedCommits`` offers its offsets again with the next commit
        (until one is taken, a restart would deliver them again).

        Only a commit's refusal: the same errors from anywhere else (a crash of the
        thread's other tasks, a commit's other failures) crash the worker as Faust does."""
        if _committing.get() and isinstance(exc, _REFUSALS):
            self.commits_refused += 1
            self._refused_commit = self._refusal(exc, "committing again")
            return
        await self._crash_service(exc)

    async def _crash_service(self, exc: BaseException) -> None:
        await super().crash(exc)

    def _refusal(self, exc: BaseException, then: str, **details: float) -> str:
        name = exc.args[0] if exc.args else "?"
        what = "consumer group" if isinstance(exc, GroupAuthorizationFailedError) else "topic"
        user = getattr(self.transport, "kafka_user", None) or "this client"
        refused = f"user {user!r} lacks the READ ACL on {what} {name}"
        log.error("consume_refused", error=f"{refused}: grant it (docs/operations.md lists a "
                  f"worker's ACLs); {then}", **details)
        return refused


class RetriedCommits(faust_aiokafka.Consumer):
    """Faust's consumer that commits again the offsets the broker refused to commit."""

    _refused_offsets: dict[Any, int] | None = None  # TP -> offset, until a commit takes it

    @property
    def refused_offsets(self) -> dict[Any, int]:
        """The offsets by partition whose commit was refused and is to be tried again."""
        if self._refused_offsets is None:
            self._refused_offsets = {}
        return self._refused_offsets

    def _filter_committable_offsets(self, tps: Any) -> dict[Any, int]:
        offsets: dict[Any, int] = super()._filter_committable_offsets(tps)
        for tp, offset in self.refused_offsets.items():
            offsets[tp] = max(offset, offsets.get(tp, offset))
        return offsets

    async def _commit_offsets(self, offsets: Any, start_new_transaction: bool = True) -> bool:
        thread = getattr(self, "_thread", None)
        refused_before = getattr(thread, "commits_refused", 0)
        committed = await super()._commit_offsets(offsets, start_new_transaction)
        kept = self.refused_offsets
        if committed:
            for tp, offset in offsets.items():
                if kept.get(tp, offset) <= offset:
                    kept.pop(tp, None)
        elif getattr(thread, "commits_refused", 0) > refused_before:
            assigned = self.assignment()
            kept.update({tp: max(offset, kept.get(tp, offset))
                         for tp, offset in offsets.items() if tp in assigned})
        return committed

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Another member may commit a revoked partition's later offsets: ours are dropped
        (Faust drops its own record of them here too)."""
        for tp in revoked:
            self.refused_offsets.pop(tp, None)
        await super().on_partitions_revoked(revoked)


def consume_refused(app: faust.App) -> str | None:
    """Why the broker refuses the worker consumer's fetches or commits, or None; always
    None with Faust's own consumer (then a refusal crashes the worker)."""
    thread = getattr(app.consumer, "consumer_thread", None)
    refused = getattr(thread, "refused", None)
    return refused if isinstance(refused, str) else None
