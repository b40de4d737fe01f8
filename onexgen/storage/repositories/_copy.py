"""Idempotent bulk inserts: replays are skipped by the natural-key unique index.

``copy_insert``: COPY into a transaction-scoped temp table, then INSERT ... ON
CONFLICT DO NOTHING (COPY itself cannot skip duplicates). Five round trips and a
temp table a call: for large loads. ``unnest_insert``: one INSERT ... SELECT FROM
unnest of one typed array a column, ON CONFLICT DO NOTHING, one statement (atomic
on its own) and one round trip: what the worker's metric sinks use every half
second (BENCHMARKS.md, issue 25).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from onexgen.storage.errors import translated


def inserted_count(status: str) -> int:
    """Row count from a command tag such as ``INSERT 0 42``."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except ValueError:
        raise ValueError(f"unexpected command status {status!r}") from None


async def copy_insert(
    pool: asyncpg.Pool[Any],
    table: str,
    columns: Sequence[str],
    conflict_columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
) -> int:
    """Insert ``records`` into ``table``; rows whose key already exists are skipped.

    ``table`` and the column names are our own constants, never user input.
    Returns the number of rows actually inserted.
    """
    if not records:
        return 0
    stage = f"_stage_{table}"
    cols = ", ".join(columns)
    with translated(f"writing {len(records)} rows to {table}"):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            await conn.copy_records_to_table(stage, records=records, columns=list(columns))
            status = await conn.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608 - identifiers are module constants
                f"ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING"
            )
    return inserted_count(status)


def unnest_sql(table: str, columns: Sequence[str], types: Sequence[str],
               conflict_columns: Sequence[str]) -> str:
    """The statement ``unnest_insert`` runs: ``$n`` is the array of column n's values."""
    if len(types) != len(columns):
        raise ValueError(f"{len(columns)} columns but {len(types)} types")
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
    cols = ", ".join(columns)
    return (f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) "  # noqa: S608 - identifiers and types are module constants
            f"ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING")


async def unnest_insert(pool: asyncpg.Pool[Any], table: str, sql: str,
                        records: Sequence[tuple[Any, ...]]) -> int:
    """Insert ``records`` (tuples in the columns' order) with ``sql`` from ``unnest_sql``,
    one statement; rows whose key already exists are skipped. Returns how many were new."""
    if not records:
        return 0
    columns = list(zip(*records, strict=True))  # one sequence a column, built in C
    with translated(f"writing {len(records)} rows to {table}"):
        status = await pool.execute(sql, *columns)
    return inserted_count(status)
