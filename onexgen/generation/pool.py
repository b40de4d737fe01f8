"""The generation pool the worker uses: processes with enforced timeouts, bounded, cached.

``run(items)`` answers a batch of ``(raw request bytes | None, correlation id)``
with one :class:`JobOutcome` each, in order:

1. requests already in the shared output cache (a dict in this process,
   Redis when ``ONEXGEN_REDIS_URL`` is set) are answered without the pool;
2. the rest wait for room (at most ``max_in_flight`` jobs are admitted at a
   time, across concurrent ``run`` calls: backpressure reaches the consumer);
3. they run in ``onexgen.procpool.ProcessPool`` (a share per process, but none
   smaller than ``min_chunk``: a small batch goes whole to one process; a job past
   ``job_timeout_s`` is answered as timed out and its process replaced);
4. new results are written to the shared cache.

A process that dies on its own raises :class:`PoolUnavailable` (the caller
retries the batch; the process is already replaced). Cache statistics of the
pool processes are collected by :meth:`GenerationPool.collect_template_updates`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from prometheus_client import CollectorRegistry
from pydantic import TypeAdapter, ValidationError

from onexgen.generation.cache_metrics import EngineStatsCollector
from onexgen.generation.cache_stats import EngineSnapshot
from onexgen.generation.engine import EngineConfig, configure, current
from onexgen.generation.errors import PoolUnavailable
from onexgen.generation.job import JobOutcome, prepare_ahead, run_job, timed_out
from onexgen.generation.output_cache import CachedResult, fingerprint, output_key
from onexgen.generation.render import Renderer, default_renderer
from onexgen.generation.shared_cache import SharedOutputCache
from onexgen.models.identifiers import RequestId
from onexgen.models.rows import TemplateCacheUpdate
from onexgen.procpool import ProcessPool, WorkerLost
from onexgen.settings import Settings
from onexgen.support.heap import freeze_startup_heap

Item = tuple[bytes | None, str]
"""A raw request value and its correlation id."""

_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)
_WARM_REQUEST = b'{"request_id":"w","node_type":"compute","name":"Warm","domain":"warm"}'


def _init_process(config: EngineConfig) -> None:
    """Pool process start: build the engine (compiles every template), run one job,
    then freeze the warm heap (a full collection over it stalled a job by ~90 ms)."""
    configure(config)
    run_job(_WARM_REQUEST, "warmup")
    freeze_startup_heap()


def prepare_chunk(items: list[Any]) -> None:
    """Before a chunk: decode and fingerprint its requests once and detect their patterns
    in one vectorised pass (its jobs take all three from there)."""
    prepare_ahead([raw for raw, _ in items], current())


def _snapshot() -> EngineSnapshot:
    return current().snapshot()


def _internal_error(item: Any, detail: str) -> JobOutcome:
    return JobOutcome("invalid", None, "invalid", b"", "internal_error",
                      f"the generator failed unexpectedly ({detail}); report it", 0.0)


def _timed_out(item: Any, timeout_s: float) -> JobOutcome:
    raw, cid = item
    return timed_out(raw, cid, timeout_s)


class InFlightLimit:
    """Admits at most ``limit`` jobs; ``acquire(n)`` waits, first come first served.

    Thread-safe and not bound to one event loop: waiters are woken with
    ``call_soon_threadsafe`` on their own loop.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = (
            deque())

    async def acquire(self, n: int) -> None:
        if n > self.limit:
            raise ValueError(f"cannot admit {n} jobs at once with a limit of {self.limit}")
        with self._lock:
            if not self._waiters and self.in_flight + n <= self.limit:
                self._admit(n)
                return
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((n, loop, future))
        try:
            await future
        except asyncio.CancelledError:
            with self._lock:
                waiting = any(f is future for _, _, f in self._waiters)
                if waiting:
                    self._waiters = deque(w for w in self._waiters if w[2] is not future)
            if not waiting:
                self.release(n)  # admitted just before the cancellation: give the room back
            raise

    def release(self, n: int) -> None:
        with self._lock:
            self.in_flight -= n
            while self._waiters and self.in_flight + self._waiters[0][0] <= self.limit:
                count, loop, future = self._waiters.popleft()
                self._admit(count)
                loop.call_soon_threadsafe(_wake, future)

    def _admit(self, n: int) -> None:
        self.in_flight += n
        self.peak = max(self.peak, self.in_flight)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_DEFAULT = {name: field.default for name, field in Settings.model_fields.items()}
"""The settings' defaults: a pool built without settings (benchmarks, tests) runs as a
worker does by default."""


Job = Callable[[bytes | None, str], JobOutcome]
"""One request's work in a pool process: raw bytes and correlation id in, outcome out."""


class GenerationPool:
    """Runs :func:`onexgen.generation.job.run_job` in ``size`` processes (0: one per core)."""

    def __init__(self, size: int = 0, *, job_timeout_s: float = _DEFAULT["codegen_job_timeout_s"],
                 max_in_flight: int | None = None, config: EngineConfig | None = None,
                 shared_cache: SharedOutputCache | bool | None = True,
                 registry: CollectorRegistry | None = None,
                 min_chunk: int = _DEFAULT["codegen_min_chunk"], job: Job = run_job) -> None:
        """``job`` is what each process runs per request: :func:`run_job`, or (in tests) a
        module-level wrapper of it, so slow or hanging jobs need no hook in production code."""
        self.job = job
        self.size = size or os.cpu_count() or 1
        self.min_chunk = min_chunk
        self.job_timeout_s = job_timeout_s
        self.config = config or EngineConfig()
        self.limit = InFlightLimit(max_in_flight or self.size * 512)
        if shared_cache is True:
            shared_cache = SharedOutputCache.from_env()
        self.shared_cache = shared_cache or None
        self.stats = EngineStatsCollector(registry)
        self._pool: ProcessPool | None = None
        self._start_lock = asyncio.Lock()
        # The version keys shared-cache lookups; pool processes may see an edit up to
        # one recheck interval apart from this one, and store under their own version.
        c = self.config
        self._version_source = (default_renderer() if c.default_templates() else
                                Renderer(c.template_dir, overlays=c.template_dirs,
                                         recheck_s=c.template_recheck_s))

    @property
    def renderer(self) -> Renderer:
        """This process's renderer over the pool's templates (overlays included): its
        version is what the pool processes converge on within a recheck interval."""
        return self._version_source

    @property
    def in_flight(self) -> int:
        return self.limit.in_flight

    def pids(self) -> list[int]:
        """Process ids of the pool processes (empty when stopped)."""
        return self._pool.pids() if self._pool is not None else []

    async def start(self) -> None:
        """Spawn and warm the processes; the pool then runs on this event loop."""
        async with self._start_lock:
            if self._pool is None:
                pool = ProcessPool(self.size, self.job, on_timeout=_timed_out,
                                   on_error=_internal_error, job_timeout_s=self.job_timeout_s,
                                   initializer=_init_process, initargs=(self.config,),
                                   prepare=prepare_chunk, min_chunk=self.min_chunk)
                await pool.start()
                self._pool = pool

    async def stop(self) -> None:
        async with self._start_lock:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.stop()

    async def run(self, items: Sequence[Item]) -> list[JobOutcome]:
        """Outcomes in the order of ``items``; raises :class:`PoolUnavailable` if a process died."""
        if self._pool is None:
            await self.start()
        step = self.limit.limit
        parts = await asyncio.gather(*(self._admitted(items[i:i + step])
                                       for i in range(0, len(items), step)))
        return [outcome for part in parts for outcome in part]

    async def _admitted(self, items: Sequence[Item]) -> list[JobOutcome]:
        outcomes: list[JobOutcome | None] = [None] * len(items)
        keys = self._shared_keys(items)
        if self.shared_cache is not None and keys:
            found = await self.shared_cache.get_many([key for _, key, _ in keys])
            for (i, key, rid), entry in zip(keys, found, strict=True):
                if entry is not None:
                    cid = items[i][1]
                    composition = entry.composition.as_cached() if entry.composition else None
                    outcomes[i] = JobOutcome("result", rid, entry.status,
                                             entry.payload_for(rid, cid), entry.error_type,
                                             entry.reason, 0.0, composition, True, key)
        todo = [i for i, o in enumerate(outcomes) if o is None]
        if todo:
            pending = [items[i] for i in todo]
            fresh = await self._run_in_processes(pending)
            for i, outcome in zip(todo, fresh, strict=True):
                outcomes[i] = outcome
            await self._share(pending, fresh)
        return [o for o in outcomes if o is not None]

    async def _run_in_processes(self, items: list[Item]) -> list[JobOutcome]:
        pool = self._pool
        if pool is None:
            raise PoolUnavailable("the generation pool is stopped; start it again")
        await self.limit.acquire(len(items))
        try:
            answers: list[JobOutcome] = await pool.submit(items)
            return answers
        except WorkerLost as exc:
            raise PoolUnavailable(str(exc)) from exc
        finally:
            self.limit.release(len(items))

    def _shared_keys(self, items: Sequence[Item]) -> list[tuple[int, str, str]]:
        """(index, output-cache key, request id) of each item that could be a shared hit.

        Cheap on purpose (parse, check the id, hash): the full validation happens
        in the pool; a body that differs from a valid one only in its id is valid.
        """
        if self.shared_cache is None:
            return []
        version = self._version_source.version
        keys: list[tuple[int, str, str]] = []
        for i, (raw, _) in enumerate(items):
            try:
                data = orjson.loads(raw) if raw is not None else None
                if isinstance(data, dict):
                    rid = _REQUEST_ID.validate_python(data.get("request_id"))
                    keys.append((i, output_key(fingerprint(data), version), rid))
            except (orjson.JSONDecodeError, ValidationError):
                continue
        return keys

    async def _share(self, items: Sequence[Item], outcomes: Sequence[JobOutcome]) -> None:
        if self.shared_cache is None:
            return
        fresh: list[tuple[str, CachedResult]] = []
        for (_, cid), o in zip(items, outcomes, strict=True):
            if o.cache_key and not o.cached and o.kind == "result" and o.request_id:
                fresh.append((o.cache_key, CachedResult.served(
                    o.status, o.error_type, o.reason, o.payload, o.composition,
                    request_id=o.request_id, correlation_id=cid)))
        await self.shared_cache.put_many(fresh)

    async def collect_stats(self) -> list[EngineSnapshot]:
        """Cumulative cache statistics of every live pool process (one message each)."""
        pool = self._pool
        if pool is None:
            return []
        results = []
        for future in pool.call_each(_snapshot):
            try:
                results.append(await future)
            except WorkerLost:
                continue  # replaced meanwhile; its successor reports next time
        return results

    async def collect_template_updates(self) -> list[TemplateCacheUpdate]:
        """Deltas since the last call as ``template_cache_metadata`` rows; updates the metrics.

        Call it periodically (e.g. every 30 s) and pass the rows to
        ``TemplateCacheRepository.write_many``; each delta is returned once.
        """
        shared = self.shared_cache.stats() if self.shared_cache is not None else None
        return self.stats.observe(await self.collect_stats(), shared)

