"""Retention drops whole daily partitions past the cutoff and keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onexgen.models.rows import EventMetricRow, GenerationMetricRow, GenerationPhase
from onexgen.models.wire import NodeType
from onexgen.storage.partitions import (
    drop_expired_partitions,
    ensure_partitions,
    list_partitions,
    maintain_partitions,
)
from onexgen.storage.pool import Database

pytestmark = pytest.mark.integration


def _day(table: str, when: datetime) -> str:
    return f"{table}_p{when.astimezone(UTC):%Y%m%d}"


async def test_drop_expired_partitions_old_dropped_new_kept(db: Database, now: datetime) -> None:
    old, stranded = now - timedelta(days=40), now - timedelta(days=90)
    async with db.pool.acquire() as conn, conn.transaction():
        await ensure_partitions(conn, days_back=41, days_ahead=1)
    await db.events.write_many([
        EventMetricRow("t:0:1", "request", "codegen", 1.0, True, old),
        EventMetricRow("t:0:2", "request", "codegen", 1.0, True, now),
        EventMetricRow("t:0:3", "request", "codegen", 1.0, True, stranded),  # DEFAULT partition
    ])
    await db.generation.write_many([
        GenerationMetricRow("r1", NodeType.REDUCER, GenerationPhase.TOTAL, 1.0, old),
        GenerationMetricRow("r2", NodeType.REDUCER, GenerationPhase.TOTAL, 1.0, now),
    ])

    async with db.pool.acquire() as conn, conn.transaction():
        dropped = await drop_expired_partitions(conn, retention_days=30)
    assert _day("event_processing_metrics", old) in dropped
    assert _day("generation_performance_metrics", old) in dropped
    assert all(int(name[-8:]) < int(f"{now - timedelta(days=30):%Y%m%d}") for name in dropped)
    for table in ("event_processing_metrics", "generation_performance_metrics"):
        remaining = await list_partitions(db.pool, table)
        assert _day(table, now) in remaining and _day(table, old) not in remaining
        assert f"{table}_default" in remaining
    keys = await db.pool.fetch("SELECT event_key FROM event_processing_metrics")
    assert [r["event_key"] for r in keys] == ["t:0:2"]
    assert await db.generation.count() == 1
    assert await drop_expired_partitions(db.pool, retention_days=30) == []


async def test_drop_expired_partitions_zero_retention_raises_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        await drop_expired_partitions(db.pool, retention_days=0)


async def test_maintain_partitions_twice_second_pass_does_nothing(db: Database) -> None:
    first = await maintain_partitions(db.pool, retention_days=30, days_ahead=10)
    assert len(first.created) == 2 * 3  # migrate made today+7; days 8..10 per table
    assert first.dropped == []
    second = await maintain_partitions(db.pool, retention_days=30, days_ahead=10)
    assert (second.created, second.dropped) == ([], [])
