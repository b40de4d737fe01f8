"""The pool's scheduler, on the event loop: shares, deadlines, deaths and replacements.

See the package docstring for what it promises. Everything here runs on the loop
that called :meth:`ProcessPool.start` (``submit`` and ``call_each`` must be called
from it): answers arrive through each process's :class:`Channel`, deadlines are one
``call_later`` timer a busy process, re-armed from the shared progress of the job it
runs; nothing crosses threads.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import RawArray
from typing import Any

from onexgen.procpool.channel import Channel, pipe
from onexgen.procpool.child import INDEX, SINCE, Item, serve
from onexgen.procpool.errors import WorkerLost

DEPTH = 2
"""Chunks a process holds at most: the one it runs and the next, waiting in its pipe."""


class _Batch:
    """Answers of one ``submit``: resolved as a whole when the last job is answered."""

    __slots__ = ("future", "remaining", "results")

    def __init__(self, future: asyncio.Future[list[Any]], size: int) -> None:
        self.future = future
        self.results: list[Any] = [None] * size
        self.remaining = size
        if size == 0:
            future.set_result([])

    def answer(self, index: int, value: Any) -> None:
        if self.future.done():
            return
        self.results[index] = value
        self.remaining -= 1
        if self.remaining == 0:
            self.future.set_result(self.results)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


@dataclass(slots=True)
class _Task:
    batch: _Batch
    index: int
    item: Item


@dataclass(slots=True, eq=False)
class _Worker:
    process: BaseProcess
    progress: Any  # RawArray('d', 2), see child.INDEX and child.SINCE
    started: asyncio.Future[None]  # resolved when the process reports ready
    channel: Channel | None = None
    ready: bool = False
    chunk: deque[_Task] = field(default_factory=deque)  # sent, unanswered, in order
    chunks: deque[int] = field(default_factory=deque)  # unanswered jobs of each sent chunk
    answered: int = 0  # answers received since the process started
    calls: deque[tuple[Callable[[], Any], asyncio.Future[Any]]] = field(default_factory=deque)
    call: asyncio.Future[Any] | None = None
    timer: asyncio.TimerHandle | None = None  # the deadline check, while it holds jobs

    @property
    def idle(self) -> bool:
        return self.ready and not self.chunk and self.call is None

    @property
    def has_room(self) -> bool:
        """Can take another chunk now: fewer than ``DEPTH``, and no control call waits
        (a call goes to an idle process, so a busy one gets no chunk queued past it)."""
        return (self.ready and self.call is None and not self.calls
                and len(self.chunks) < DEPTH)


def _running(worker: _Worker) -> tuple[int, float]:
    """(number since the process started, start time) of the job a process is running,
    read consistently."""
    while True:
        index = worker.progress[INDEX]
        since = worker.progress[SINCE]
        if worker.progress[INDEX] == index:
            return int(index), float(since)


def _backlog(worker: _Worker) -> int:
    """Jobs ``worker`` holds that it has not finished: the one it runs and those queued
    behind it (answers not yet sent back are counted by the shared progress)."""
    if not worker.chunk:
        return 0
    index, _ = _running(worker)
    return max(1, len(worker.chunk) - max(index - worker.answered, 0))


def _level(pending: int, backlogs: list[int], smallest: int) -> list[int]:
    """Shares of ``pending`` jobs for processes holding ``backlogs`` jobs (least first), so
    that they all finish at about the same time: a process already holding more than
    its part gets none, and no share is smaller than ``smallest`` (the most loaded
    process drops out instead; the least loaded always takes the rest).

    Why: cut into equal shares, a batch arriving while one process was busy queued half
    of it behind that process's running chunk, to wait there while the other process
    had finished and sat idle (the pool's part of the latency tail, issue 25).
    """
    for count in range(len(backlogs), 0, -1):
        held = backlogs[:count]
        level, spare = divmod(pending + sum(held), count)
        shares = [level - b + (i < spare) for i, b in enumerate(held)]  # adds up to pending
        if min(shares) >= smallest:
            break
    # count == 1 always breaks: its share is ``pending``.
    return shares + [0] * (len(backlogs) - count)


def _join(processes: list[BaseProcess], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` in all for ``processes`` to exit, then kill the rest."""
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
        process.join(5)


class ProcessPool:
    """``size`` processes running ``job(*item)``; see the package docstring."""

    def __init__(
        self, size: int, job: Callable[..., Any], *,
        on_timeout: Callable[[Item, float], Any], on_error: Callable[[Item, str], Any],
        job_timeout_s: float = 10.0, initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (), start_timeout_s: float = 120.0,
        prepare: Callable[[list[Item]], None] | None = None, min_chunk: int = 1,
    ) -> None:
        if min_chunk < 1:
            raise ValueError(f"min_chunk must be at least 1, not {min_chunk}")
        self.size = size
        self.min_chunk = min_chunk
        self.job_timeout_s = job_timeout_s
        self._job, self._on_timeout, self._on_error = job, on_timeout, on_error
        self._init, self._initargs, self._start_timeout_s = initializer, initargs, start_timeout_s
        self._prepare = prepare
        self._ctx = multiprocessing.get_context("spawn")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False  # started: a lost process is replaced (while starting: fatal)
        self._pending: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self.timeouts = 0
        self.replaced = 0

    # -- life cycle ------------------------------------------------------------------------------

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        """Start a process and watch its pipe. Spawning (vfork+exec) blocks the loop for 2-100 ms
        (measured at load average 7): at start, and when a process is replaced."""
        ours, theirs = pipe()
        progress = RawArray("d", 2)
        process = self._ctx.Process(target=serve, args=(theirs, progress, self._job, self._init,
                                                        self._initargs, self._prepare),
                                    daemon=True, name="onexgen-generator")
        try:
            process.start()
        finally:
            theirs.close()
        worker = _Worker(process, progress, loop.create_future())
        worker.channel = Channel(loop, ours, lambda m: self._on_message(worker, m),
                                 lambda reason: self._on_closed(worker, reason))
        return worker

    async def start(self) -> None:
        """Spawn every process and wait until each has run its initializer; the pool then
        runs on this event loop."""
        if self._loop is not None:
            return
        loop = self._loop = asyncio.get_running_loop()
        self._workers = [self._spawn(loop) for _ in range(self.size)]
        try:
            async with asyncio.timeout(self._start_timeout_s):
                await asyncio.gather(*(w.started for w in self._workers))
        except (TimeoutError, WorkerLost) as exc:
            await self._close_all(timeout_s=0)
            self._loop = None
            if isinstance(exc, WorkerLost):
                raise
            raise WorkerLost(f"a generation process did not start within "
                             f"{self._start_timeout_s:g}s") from exc
        self._started = True

    async def stop(self) -> None:
        """Finish nothing more: fail queued work, ask processes to exit, kill stragglers."""
        if self._loop is None:
            return
        self._started = False
        self._loop = None
        held = list(self._pending) + [t for w in self._workers for t in w.chunk]
        calls = [f for w in self._workers for f in (w.call, *(c for _, c in w.calls)) if f]
        self._pending.clear()
        await self._close_all(timeout_s=5)
        lost = WorkerLost("the generation pool was stopped")
        for task in held:
            task.batch.fail(lost)
        for future in calls:
            if not future.done():
                future.set_exception(lost)

    async def _close_all(self, timeout_s: float) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            self._disarm(worker)
            if worker.channel is not None:
                worker.channel.send(None)  # delivered before the end of file that follows
                worker.channel.close()
        await asyncio.to_thread(_join, [w.process for w in workers], timeout_s)

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, items: Sequence[Item]) -> asyncio.Future[list[Any]]:
        """Queue ``items``; the future resolves to their answers, in order."""
        if self._loop is None or not self._started:
            raise WorkerLost("the generation pool is not started")
        batch = _Batch(self._loop.create_future(), len(items))
        self._pending.extend(_Task(batch, i, item) for i, item in enumerate(items))
        self._assign()
        return batch.future

    def call_each(self, fn: Callable[[], Any]) -> list[asyncio.Future[Any]]:
        """Run ``fn()`` once in every live process (e.g. to collect statistics)."""
        if self._loop is None:
            return []
        futures: list[asyncio.Future[Any]] = []
        for worker in self._workers:
            future: asyncio.Future[Any] = self._loop.create_future()
            worker.calls.append((fn, future))
            futures.append(future)
        self._assign()
        return futures

    def pids(self) -> list[int]:
        """Process ids of the current pool processes (for operators and tests)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    # -- scheduling ------------------------------------------------------------------------------

    def _assign(self) -> None:
        for worker in self._workers:
            if worker.idle and worker.calls:
                fn, worker.call = worker.calls.popleft()
                self._send(worker, ("call", fn))
        takers = [w for w in self._workers if w.has_room]
        if not takers or not self._pending:
            return
        while self._pending and self._pending[0].batch.future.done():
            self._pending.popleft()  # its batch already failed: nobody waits for the answer
        if not self._pending:
            return
        pending = len(self._pending)
        # Levelled over every live process, takers or not: one whose pipe is full now
        # frees up soon and keeps its part (it stays queued here until it has room).
        backlogs = {w: _backlog(w) for w in self._workers if w.ready}
        live = sorted(backlogs, key=backlogs.__getitem__)  # the least loaded first
        smallest = 1 if all(w.idle for w in self._workers) else self.min_chunk
        if pending > 64 * len(self._workers):
            # A large batch: in rounds of a share a process each, to balance uneven jobs
            # (the rest follows as processes answer); no share below ``smallest``.
            shares = max(1, min(4 * len(self._workers), pending // smallest))
            sizes = [math.ceil(pending / shares)] * len(live)
        else:
            sizes = _level(pending, [backlogs[w] for w in live], smallest)
        now = time.monotonic()
        for worker, size in zip(live, sizes, strict=True):
            if not worker.has_room:
                continue
            chunk = [self._pending.popleft() for _ in range(min(size, len(self._pending)))]
            if not chunk:
                continue
            if not worker.chunk:  # until the process reports: this chunk's first job, from now
                worker.progress[INDEX] = worker.answered
                worker.progress[SINCE] = now
            worker.chunk.extend(chunk)
            worker.chunks.append(len(chunk))
            self._send(worker, ("jobs", [t.item for t in chunk]))
            if worker.timer is None:
                worker.timer = self._later(self.job_timeout_s, worker)

    def _send(self, worker: _Worker, message: Any) -> None:
        if worker.channel is not None:
            worker.channel.send(message)

    def _later(self, delay_s: float, worker: _Worker) -> asyncio.TimerHandle:
        assert self._loop is not None
        return self._loop.call_later(delay_s, self._deadline, worker)

    def _disarm(self, worker: _Worker) -> None:
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None

    # -- what the processes say ------------------------------------------------------------------

    def _on_message(self, worker: _Worker, message: Any) -> None:
        kind, value = message
        if kind == "answers":
            for ok, answer in value:
                task = worker.chunk.popleft()
                worker.answered += 1
                worker.chunks[0] -= 1
                if worker.chunks[0] == 0:
                    worker.chunks.popleft()
                try:
                    result = answer if ok else self._on_error(task.item, answer)
                except Exception as exc:  # the caller's handler failed: so does the batch
                    task.batch.fail(exc)
                else:
                    task.batch.answer(task.index, result)
        elif kind == "reply" and worker.call is not None:
            if not worker.call.done():
                worker.call.set_result(value)
            worker.call = None
        elif kind == "ready":
            worker.ready = True
            if not worker.started.done():
                worker.started.set_result(None)
        elif kind == "failed":
            if worker.channel is not None:
                worker.channel.close()
            self._lost(worker, f"its initializer failed: {value}")
            return
        self._assign()

    def _on_closed(self, worker: _Worker, reason: str) -> None:
        self._lost(worker, f"its pipe ended ({reason})")

    def _lost(self, worker: _Worker, detail: str) -> None:
        """A process died or failed to start: fatal while the pool starts, else replaced."""
        if worker not in self._workers:
            return
        if not self._started:
            self._retire(worker)
            if not worker.started.done():
                worker.started.set_exception(
                    WorkerLost(f"a generation process failed to start: {detail}"))
            return
        self._retire(worker)
        self._replace(worker, WorkerLost(
            f"a generation process exited with code {worker.process.exitcode}, {detail}; "
            "it was replaced, retry the batch"))
        self._assign()

    def _deadline(self, worker: _Worker) -> None:
        """The job ``worker`` runs may be past its timeout: re-arm, or cut it off."""
        worker.timer = None
        if worker not in self._workers or not worker.chunk:
            return
        index, since = _running(worker)
        left = since + self.job_timeout_s - time.monotonic()
        if left > 0:
            worker.timer = self._later(left, worker)
            return
        # Answers of jobs finished since the last group are lost with the process:
        # every unanswered job but the stuck one goes back to the queue.
        stuck = min(max(index - worker.answered, 0), len(worker.chunk) - 1)
        task = worker.chunk[stuck]
        del worker.chunk[stuck]
        self.timeouts += 1
        self._pending.extendleft(reversed(worker.chunk))
        worker.chunk.clear()
        worker.chunks.clear()
        self._retire(worker)
        self._replace(worker, None)
        try:
            task.batch.answer(task.index, self._on_timeout(task.item, self.job_timeout_s))
        except Exception as exc:  # the caller's handler failed: so does the batch
            task.batch.fail(exc)
        self._assign()

    def _retire(self, worker: _Worker) -> None:
        """Close ``worker``'s pipe and kill it (SIGKILL), waiting for its exit: a process
        already dead is reaped at once, a killed one within milliseconds."""
        self._disarm(worker)
        if worker.channel is not None:
            worker.channel.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)

    def _replace(self, worker: _Worker, error: WorkerLost | None) -> None:
        """Start another process in ``worker``'s place; fail its jobs with ``error`` (None:
        they were requeued) and its control calls."""
        assert self._loop is not None
        for task in worker.chunk:
            task.batch.fail(error or WorkerLost("generation process replaced"))
        worker.chunk.clear()
        self._workers[self._workers.index(worker)] = self._spawn(self._loop)
        lost = WorkerLost("the generation process was replaced before answering")
        for future in (worker.call, *(f for _, f in worker.calls)):
            if future is not None and not future.done():
                future.set_exception(lost)
        worker.calls.clear()
        self.replaced += 1
