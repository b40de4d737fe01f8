"""Writes to ``generation_performance_metrics``: per-phase timings of each request.

Same shape as the event writer: COPY per batch into a staging table, then an
insert that skips keys already present, so a replayed request adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from onexgen.models.rows import GENERATION_COLUMNS, GenerationMetricRow
from onexgen.storage.errors import translated
from onexgen.storage.repositories._copy import copy_insert

TABLE = "generation_performance_metrics"
KEY = ("request_id", "phase", "created_at")


class GenerationMetricsRepository:
    """Idempotent writer for generation phase timings."""

    def __init__(self, pool: asyncpg.Pool[Any], *, chunk_size: int = 10_000) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self._pool = pool
        self._chunk_size = chunk_size

    async def write_many(self, rows: Iterable[GenerationMetricRow]) -> int:
        """Insert ``rows`` in COPY batches; return how many were new (replays are skipped)."""
        records = [row.as_record() for row in rows]
        total = 0
        for start in range(0, len(records), self._chunk_size):
            chunk = records[start:start + self._chunk_size]
            total += await copy_insert(self._pool, TABLE, GENERATION_COLUMNS, KEY, chunk)
        return total

    async def count(self) -> int:
        """Rows in the table (all partitions)."""
        with translated(f"counting {TABLE}"):
            value = await self._pool.fetchval(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 - constant table name
        return int(value)
