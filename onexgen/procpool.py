"""A small process pool that can kill one stuck job: own processes, pipes, per-job deadlines.

``concurrent.futures.ProcessPoolExecutor`` cannot cancel a running call, so a
hung render would hold its process (and the batch) forever. Here one scheduler
thread owns ``size`` spawned processes, each with a duplex pipe and two shared
numbers (which job of its chunk it is running, and since when):

- a batch is cut into one share per process (large batches into a few rounds,
  to balance uneven jobs); an idle process takes a share at once, and a busy one
  takes the next share behind the chunk it is running (``DEPTH`` chunks a process
  at most), so a process never waits for the scheduler to hear its answers and
  send more while work waits: ``ProcessPoolExecutor`` keeps its queue filled the
  same way. Each chunk is sent as one message. Sized
  by the idle processes instead, a batch arriving while one process was busy went
  whole to the other. While any process is busy, no share is cut below
  ``min_chunk`` jobs (the batch is cut into fewer shares instead): a small batch
  goes whole to one process, which costs less CPU than waking both for a few jobs
  each (per-chunk work, cold caches). When every process is idle, a batch is shared
  between them however small: nothing else waits for them, and its last job is
  answered in half the time (the latency at light load, issue 25);
- a process sends its answers in groups (every ``FLUSH_S`` once it has
  ``FLUSH_MIN`` of them, and at the end of
  the chunk), so the worker process unpickles a few messages per batch, not one
  per job (measured: per-job messages cost the worker 5x the CPU);
- the shared progress tells the scheduler exactly which job is running (counted
  since the process started, across its chunks) and since when: a job running
  longer than ``job_timeout_s`` gets ``on_timeout``'s answer, its process is
  killed (SIGKILL) and replaced, and every other unanswered job it held (of its
  chunk and of the one queued behind) goes back to the queue for the others;
- a process that dies on its own fails its unanswered jobs with
  ``WorkerLost`` (the caller retries the batch) and is replaced.

Processes are spawned (not forked): the worker's event loop, Kafka client
threads and sockets must not be copied into children.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import RawArray
from typing import Any

Item = tuple[Any, ...]
FLUSH_S = 0.05
"""A process sends the answers it has at least this often (and at the end of each chunk)..."""
FLUSH_MIN = 8
"""... once it has this many at least: when jobs slow down (a loaded machine), a group a
job would cost the worker process a message, a wake-up and an unpickling each
(``python -m bench handoff``: 3.6-4.8x ``ProcessPoolExecutor``'s CPU a request at
load average ~30, which sends one message a chunk)."""
_INDEX, _SINCE = 0, 1  # slots of the shared progress array
DEPTH = 2
"""Chunks a process holds at most: the one it runs and the next, waiting in its pipe."""


class ProcessPoolError(Exception):
    """Root of the pool's errors (exception tree: ProcessPoolError -> WorkerLost)."""


class WorkerLost(ProcessPoolError):
    """A pool process died (not by our timeout) while it held jobs; retry them."""


class _Batch:
    """Answers of one ``submit``: resolved as a whole when the last job is answered."""

    __slots__ = ("future", "remaining", "results")

    def __init__(self, size: int) -> None:
        self.future: Future[list[Any]] = Future()
        self.results: list[Any] = [None] * size
        self.remaining = size
        if size == 0:
            self.future.set_result([])

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
    conn: Connection
    progress: Any  # RawArray('d', 2): the running job's number (from 0 since the process
    # started, across chunks) and its start (monotonic)
    ready: bool = False
    chunk: deque[_Task] = field(default_factory=deque)  # sent, unanswered, in order
    chunks: deque[int] = field(default_factory=deque)  # unanswered jobs of each sent chunk
    answered: int = 0  # answers received since the process started
    calls: deque[tuple[Callable[[], Any], Future[Any]]] = field(default_factory=deque)
    call: Future[Any] | None = None

    @property
    def idle(self) -> bool:
        return self.ready and not self.chunk and self.call is None

    @property
    def has_room(self) -> bool:
        """Can take another chunk now: fewer than ``DEPTH``, and no control call waits
        (a call goes to an idle process, so a busy one gets no chunk queued past it)."""
        return (self.ready and self.call is None and not self.calls
                and len(self.chunks) < DEPTH)


def _child(conn: Connection, progress: Any, job: Callable[..., Any],
           initializer: Callable[..., None] | None, initargs: tuple[Any, ...],
           prepare: Callable[[list[Item]], None] | None = None) -> None:
    """Body of a pool process: run chunks (answers sent in groups), run control calls."""
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:  # report any start failure to the parent, then exit
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    started = 0  # jobs begun since the process started: the progress counts across chunks
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        kind, payload = message
        if kind == "jobs":
            _run_chunk(conn, progress, job, payload, prepare, started)
            started += len(payload)
        else:
            conn.send(("reply", payload()))


def _run_chunk(conn: Connection, progress: Any, job: Callable[..., Any],
               items: list[Item], prepare: Callable[[list[Item]], None] | None = None,
               first: int = 0) -> None:
    """``first``: the number of the chunk's first job since the process started."""
    answers: list[tuple[bool, Any]] = []
    flushed = time.monotonic()
    if prepare is not None:
        # Batch work for the whole chunk (e.g. one vectorised model pass); counted against
        # the first job's timeout, and only an optimisation: jobs work without it.
        progress[_SINCE] = flushed
        progress[_INDEX] = first
        with contextlib.suppress(Exception):
            prepare(items)
    for index, item in enumerate(items):
        now = time.monotonic()
        if len(answers) >= FLUSH_MIN and now - flushed >= FLUSH_S:
            conn.send(("answers", answers))
            answers, flushed = [], now
        progress[_SINCE] = now  # written before the index: the reader checks the index twice
        progress[_INDEX] = first + index
        try:
            answers.append((True, job(*item)))
        except Exception as exc:  # a bug in the job must not kill the process
            answers.append((False, f"{type(exc).__name__}: {exc}"))
    conn.send(("answers", answers))


def _running(worker: _Worker) -> tuple[int, float]:
    """(number since the process started, start time) of the job a process is running,
    read consistently."""
    while True:
        index = worker.progress[_INDEX]
        since = worker.progress[_SINCE]
        if worker.progress[_INDEX] == index:
            return int(index), float(since)


class ProcessPool:
    """``size`` processes running ``job(*item)``; see the module docstring."""

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
        self._lock = threading.Lock()
        self._pending: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.timeouts = 0
        self.replaced = 0

    # -- life cycle ------------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        progress = RawArray("d", 2)
        process = self._ctx.Process(target=_child, args=(child, progress, self._job, self._init,
                                                         self._initargs, self._prepare),
                                    daemon=True,
                                    name="onexgen-generator")
        process.start()
        child.close()
        return _Worker(process, parent, progress)

    def start(self) -> None:
        """Spawn every process and wait until each has run its initializer (blocking)."""
        if self._thread is not None:
            return
        self._stopping = False
        self._workers = [self._spawn() for _ in range(self.size)]
        deadline = time.monotonic() + self._start_timeout_s
        for worker in self._workers:
            remaining = max(0.0, deadline - time.monotonic())
            if not worker.conn.poll(remaining):
                self._kill_all()
                raise WorkerLost(f"a generation process did not start within "
                                 f"{self._start_timeout_s:g}s")
            try:
                kind, detail = worker.conn.recv()
            except EOFError:
                kind, detail = "failed", f"exited with code {worker.process.exitcode}"
            if kind != "ready":
                self._kill_all()
                raise WorkerLost(f"a generation process failed to start: {detail}")
            worker.ready = True
        self._thread = threading.Thread(target=self._loop, name="onexgen-pool", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish nothing more: fail queued work, ask processes to exit, kill stragglers."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake()
        thread.join()
        self._thread = None
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(5)
        self._kill_all()
        lost = WorkerLost("the generation pool was stopped")
        for task in list(self._pending) + [t for w in self._workers for t in w.chunk]:
            task.batch.fail(lost)
        self._pending.clear()
        self._workers = []

    def _kill_all(self) -> None:
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(5)
            worker.conn.close()

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, items: Sequence[Item]) -> Future[list[Any]]:
        """Queue ``items``; the future resolves to their answers, in order."""
        if self._thread is None:
            raise WorkerLost("the generation pool is not started")
        batch = _Batch(len(items))
        with self._lock:
            self._pending.extend(_Task(batch, i, item) for i, item in enumerate(items))
        self._wake()
        return batch.future

    def call_each(self, fn: Callable[[], Any]) -> list[Future[Any]]:
        """Run ``fn()`` once in every live process (e.g. to collect statistics)."""
        futures: list[Future[Any]] = []
        with self._lock:
            for worker in self._workers:
                future: Future[Any] = Future()
                worker.calls.append((fn, future))
                futures.append(future)
        self._wake()
        return futures

    def pids(self) -> list[int]:
        """Process ids of the current pool processes (for operators and tests)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def _wake(self) -> None:
        os.write(self._wake_w, b"x")

    # -- the scheduler thread --------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping:
            with self._lock:
                self._assign()
            now = time.monotonic()
            busy = [_running(w)[1] + self.job_timeout_s for w in self._workers if w.chunk]
            timeout = max(0.0, min(busy) - now) if busy else None
            handles: dict[Any, _Worker | None] = {self._wake_r: None}
            for worker in self._workers:
                handles[worker.conn] = worker
                handles[worker.process.sentinel] = worker
            for ready in wait(list(handles), timeout):
                owner = handles[ready]
                if owner is None:
                    os.read(self._wake_r, 4096)
                elif owner in self._workers:
                    self._drain(owner)
            self._expire(time.monotonic())

    def _assign(self) -> None:
        for worker in self._workers:
            if worker.idle and worker.calls:
                fn, worker.call = worker.calls.popleft()
                worker.conn.send(("call", fn))
        # Idle processes first, then busy ones with room for the next chunk.
        takers = sorted((w for w in self._workers if w.has_room), key=lambda w: len(w.chunks))
        if not takers or not self._pending:
            return
        while self._pending and self._pending[0].batch.future.done():
            self._pending.popleft()  # its batch already failed: nobody waits for the answer
        if not self._pending:
            return
        # Shares of all processes, not of the idle ones: a process that frees up just
        # after a batch arrives still gets its part of it (see the module docstring).
        # While a process is busy, no share below ``min_chunk`` (the last one included):
        # fewer, larger shares instead, so a small batch goes whole to one process; an
        # idle pool shares any batch between all its processes (see the docstring).
        pending = len(self._pending)
        rounds = 1 if pending <= 64 * len(self._workers) else 4
        idle = all(w.idle for w in self._workers)
        smallest = 1 if idle else self.min_chunk
        shares = max(1, min(len(self._workers) * rounds, pending // smallest))
        size = math.ceil(pending / shares)
        now = time.monotonic()
        for worker in takers:
            chunk = [self._pending.popleft() for _ in range(min(size, len(self._pending)))]
            if not chunk:
                break
            if not worker.chunk:  # until the process reports: this chunk's first job, from now
                worker.progress[_INDEX] = worker.answered
                worker.progress[_SINCE] = now
            worker.chunk.extend(chunk)
            worker.chunks.append(len(chunk))
            worker.conn.send(("jobs", [t.item for t in chunk]))

    def _drain(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                kind, value = worker.conn.recv()
                if kind == "answers":
                    for ok, answer in value:
                        task = worker.chunk.popleft()
                        worker.answered += 1
                        worker.chunks[0] -= 1
                        if worker.chunks[0] == 0:
                            worker.chunks.popleft()
                        task.batch.answer(task.index,
                                          answer if ok else self._on_error(task.item, answer))
                elif kind == "reply" and worker.call is not None:
                    worker.call.set_result(value)
                    worker.call = None
                elif kind == "ready":
                    worker.ready = True
                elif kind == "failed":
                    raise EOFError(value)
        except (EOFError, OSError) as exc:
            self._replace(worker, WorkerLost(f"a generation process died ({exc or 'no reason'}); "
                                             "it was replaced, retry the batch"))
            return
        if not worker.process.is_alive() and not worker.conn.poll():
            code = worker.process.exitcode
            self._replace(worker, WorkerLost(f"a generation process exited with code {code}; "
                                             "it was replaced, retry the batch"))

    def _expire(self, now: float) -> None:
        for worker in list(self._workers):
            if not worker.chunk:
                continue
            index, since = _running(worker)
            if now - since < self.job_timeout_s:
                continue
            # Answers of jobs finished since the last group are lost with the process:
            # every unanswered job but the stuck one goes back to the queue.
            stuck = min(max(index - worker.answered, 0), len(worker.chunk) - 1)
            task = worker.chunk[stuck]
            del worker.chunk[stuck]
            self.timeouts += 1
            with self._lock:
                self._pending.extendleft(reversed(worker.chunk))
            worker.chunk.clear()
            worker.chunks.clear()
            task.batch.answer(task.index, self._on_timeout(task.item, self.job_timeout_s))
            self._replace(worker, None)

    def _replace(self, worker: _Worker, error: WorkerLost | None) -> None:
        """Kill ``worker`` and start another; fail its jobs with ``error`` (None: requeued)."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        for task in worker.chunk:
            task.batch.fail(error or WorkerLost("generation process replaced"))
        worker.chunk.clear()
        lost = WorkerLost("the generation process was replaced before answering")
        with self._lock:
            calls = [worker.call, *(f for _, f in worker.calls)]
            worker.calls.clear()
            self._workers[self._workers.index(worker)] = self._spawn()
        for future in calls:
            if future is not None and not future.done():
                future.set_exception(lost)
        self.replaced += 1
