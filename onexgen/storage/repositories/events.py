"""Writes to ``event_processing_metrics``: one COPY per batch, replays skipped.

``write_many`` is the path the monitor uses; ``insert_one`` is the naive
one-round-trip-per-row path, kept for the benchmark that shows why batching
matters (and for callers that truly have one row).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from onexgen.models.rows import EVENT_COLUMNS, EventMetricRow
from onexgen.storage.errors import translated
from onexgen.storage.repositories._copy import copy_insert, inserted_count

TABLE = "event_processing_metrics"
KEY = ("event_key", "created_at")

_INSERT_ONE = (
    f"INSERT INTO {TABLE} ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - module constants; values are $n
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLUMNS) + 1))}) "
    f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
)


class EventMetricsRepository:
    """Idempotent writer for event processing metrics."""

    def __init__(self, pool: asyncpg.Pool[Any], *, chunk_size: int = 10_000) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self._pool = pool
        self._chunk_size = chunk_size

    async def write_many(self, rows: Iterable[EventMetricRow]) -> int:
        """Insert ``rows`` in COPY batches of ``chunk_size``; return how many were new.

        Each chunk is its own transaction, so a failure leaves earlier chunks
        written; rerunning the whole call is safe because replays are skipped.
        """
        records = [row.as_record() for row in rows]
        total = 0
        for start in range(0, len(records), self._chunk_size):
            chunk = records[start:start + self._chunk_size]
            total += await copy_insert(self._pool, TABLE, EVENT_COLUMNS, KEY, chunk)
        return total

    async def insert_one(self, row: EventMetricRow) -> int:
        """One INSERT, one round trip: 1 if the row was new, 0 if it was a replay."""
        with translated(f"writing one row to {TABLE}"):
            status = await self._pool.execute(_INSERT_ONE, *row.as_record())
        return inserted_count(status)

    async def count(self) -> int:
        """Rows in the table (all partitions); for tests and the benchmark."""
        with translated(f"counting {TABLE}"):
            value = await self._pool.fetchval(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 - constant table name
        return int(value)
