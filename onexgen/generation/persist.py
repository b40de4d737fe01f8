"""Metric rows to Postgres without ever holding up the pipeline.

Rows are buffered and written in the background in COPY batches. While the
database is unreachable the buffer keeps the rows (bounded; the oldest are
dropped and counted if it overflows) and the writer retries with backoff, so
generation goes on and the rows of that period land after recovery. Writes are
keyed, so a row written twice (a retry after an ambiguous failure) counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

import structlog

from onexgen.storage.errors import StorageError
from onexgen.streams.retry import RetryPolicy

log = structlog.get_logger("onexgen.persist")

Row = TypeVar("Row")


class RowSink(Generic[Row]):
    """A bounded buffer of rows and one background task that flushes it."""

    def __init__(
        self,
        name: str,
        write: Callable[[list[Row]], Awaitable[int]],
        *,
        max_buffer: int = 500_000,
        batch: int = 5_000,
        interval_s: float = 0.5,
        policy: RetryPolicy | None = None,
        on_dropped: Callable[[int], None] | None = None,
        on_written: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self._write = write
        self._buffer: deque[Row] = deque()
        self._max_buffer = max_buffer
        self._batch = batch
        self._interval_s = interval_s
        self._policy = policy or RetryPolicy(max_attempts=0, base_delay_s=0.2, max_delay_s=5.0)
        self._on_dropped = on_dropped
        self._on_written = on_written
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self.written = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, rows: Iterable[Row]) -> None:
        self._buffer.extend(rows)
        overflow = len(self._buffer) - self._max_buffer
        if overflow > 0:
            for _ in range(overflow):
                self._buffer.popleft()
            self.dropped += overflow
            if self._on_dropped:
                self._on_dropped(overflow)
        if len(self._buffer) >= self._batch:
            self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sink-{self.name}")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Flush what is buffered (bounded by ``timeout_s``), then stop the task."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            await asyncio.wait_for(self.flush(), timeout_s)
        except (TimeoutError, StorageError) as exc:
            log.warning("sink_unflushed", sink=self.name, rows=len(self._buffer), error=str(exc))

    async def flush(self) -> int:
        """Write everything buffered now; raises :class:`StorageError` if the database fails."""
        total = 0
        while self._buffer:
            chunk = [self._buffer.popleft() for _ in range(min(self._batch, len(self._buffer)))]
            try:
                await self._write(chunk)
            except BaseException:
                self._buffer.extendleft(reversed(chunk))  # keep order, lose nothing
                raise
            total += len(chunk)
            self.written += len(chunk)
            if self._on_written:
                self._on_written(len(chunk))
        return total

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._interval_s)
            self._wakeup.clear()
            try:
                await self.flush()
                if self._failures:
                    log.info("sink_recovered", sink=self.name, after_failures=self._failures)
                self._failures = 0
            except Exception as exc:  # the writer must outlive any database error
                self._failures += 1
                pause = self._policy.delay(min(self._failures, 10))
                log.warning("sink_write_failed", sink=self.name, buffered=len(self._buffer),
                            attempt=self._failures, error=str(exc),
                            error_type=type(exc).__name__, retry_in_s=round(pause, 2))
                await asyncio.sleep(pause)
