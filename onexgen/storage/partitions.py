"""Daily partitions of the metric tables: create ahead, drop after retention.

The SQL lives in migration 0002 (``onexgen_ensure_partitions`` and
``onexgen_drop_expired_partitions``) so that ops can run it from psql too; these
wrappers give Python callers (migrate, the monitor's maintenance loop) typed
results and storage errors. Dropping a whole partition is how retention stays
cheap at ten million rows a day: no DELETE, no vacuum debt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from onexgen.storage.errors import translated

if TYPE_CHECKING:  # asyncpg's classes are generic only in its stubs
    from asyncpg.pool import PoolConnectionProxy

    Executor: TypeAlias = (
        asyncpg.Connection[Any] | PoolConnectionProxy[Any] | asyncpg.Pool[Any]
    )

DEFAULT_RETENTION_DAYS = 30
DEFAULT_DAYS_AHEAD = 7

PARTITIONED_TABLES = ("generation_performance_metrics", "event_processing_metrics")


async def ensure_partitions(conn: Executor, days_back: int, days_ahead: int) -> list[str]:
    """Create the missing daily partitions for today-days_back .. today+days_ahead (UTC).

    Returns the partitions created. Idempotent, and safe to call concurrently
    (the SQL function takes a transaction-level advisory lock).
    """
    if days_back < 0 or days_ahead < 0:
        raise ValueError(f"days_back and days_ahead must be >= 0, got {days_back}, {days_ahead}")
    with translated("creating metric partitions"):
        rows = await conn.fetch("SELECT onexgen_ensure_partitions($1, $2) AS name",
                                days_back, days_ahead)
    return [str(r["name"]) for r in rows]


async def drop_expired_partitions(conn: Executor, retention_days: int) -> list[str]:
    """Drop daily partitions whose whole day is older than ``retention_days``; return their names.

    Rows that old in the DEFAULT partitions are deleted too.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be >= 1, got {retention_days}")
    with translated("dropping expired metric partitions"):
        rows = await conn.fetch("SELECT onexgen_drop_expired_partitions($1) AS name",
                                retention_days)
    return [str(r["name"]) for r in rows]


async def list_partitions(conn: Executor, table: str) -> list[str]:
    """Names of the partitions of ``table`` (one of ``PARTITIONED_TABLES``), sorted."""
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table!r} is not partitioned; expected one of {PARTITIONED_TABLES}")
    with translated(f"listing partitions of {table}"):
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = $1::regclass ORDER BY c.relname",
            table,
        )
    return [str(r["relname"]) for r in rows]


@dataclass(frozen=True, slots=True)
class PartitionMaintenance:
    """What one maintenance pass did, for the canonical log line."""

    created: list[str]
    dropped: list[str]


async def maintain_partitions(
    conn: Executor, *, retention_days: int = DEFAULT_RETENTION_DAYS,
    days_ahead: int = DEFAULT_DAYS_AHEAD,
) -> PartitionMaintenance:
    """The daily job: create the coming days' partitions, then drop expired ones.

    Run it from one place at least daily (the monitor agent's timer); running
    it more often or from several workers is harmless.
    """
    created = await ensure_partitions(conn, 0, days_ahead)
    dropped = await drop_expired_partitions(conn, retention_days)
    return PartitionMaintenance(created=created, dropped=dropped)
