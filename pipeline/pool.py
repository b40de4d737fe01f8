"""A process pool for generation: real parallelism past the GIL, off the event loop.

Processes are spawned (not forked): the worker's event loop, Kafka client threads
and sockets must not be copied into children. Each batch is cut into one chunk
per process, so a batch costs one pickling round trip per process, not per request.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipeline.errors import PoolUnavailable
from pipeline.job import JobOutcome, run_chunk

Item = tuple[bytes | None, str]
"""A raw request value and its correlation id."""


def _warm_up() -> None:
    """Import and compile templates once per process, before the first real job."""
    from pipeline.job import run_job

    run_job(b'{"request_id":"w","node_type":"compute","name":"Warm","domain":"warm"}', "warmup")


class GenerationPool:
    """Runs :func:`pipeline.job.run_chunk` in ``size`` processes."""

    def __init__(self, size: int = 0) -> None:
        self.size = size or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._executor is None:
            ctx = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.size, mp_context=ctx, initializer=_warm_up)

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def chunks(self, items: Sequence[Item]) -> list[list[Item]]:
        """Split ``items`` into at most ``size`` contiguous, near-equal chunks."""
        n = min(self.size, len(items)) or 1
        step, extra = divmod(len(items), n)
        out, start = [], 0
        for i in range(n):
            end = start + step + (1 if i < extra else 0)
            out.append(list(items[start:end]))
            start = end
        return [c for c in out if c]

    async def run(self, items: Sequence[Item]) -> list[JobOutcome]:
        """Outcomes in the order of ``items``; raises :class:`PoolUnavailable` if a process died."""
        self.start()
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, run_chunk, c) for c in self.chunks(items)]
        try:
            parts = await asyncio.gather(*futures)
        except BrokenProcessPool as exc:
            # A child died (OOM, kill): start a fresh pool; the caller retries the batch.
            self._executor = None
            raise PoolUnavailable(f"a generation process died ({exc}); pool restarted") from exc
        return [outcome for part in parts for outcome in part]
