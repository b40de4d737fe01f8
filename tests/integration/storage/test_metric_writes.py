"""Metric writers against the real server: CHECKs accept our rows, replays change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onexgen.models.rows import (
    EVENT_COLUMNS,
    EventMetricRow,
    GenerationMetricRow,
    GenerationPhase,
)
from onexgen.models.wire import NodeType
from onexgen.storage.errors import StorageError
from onexgen.storage.partitions import ensure_partitions, list_partitions
from onexgen.storage.pool import Database, create_pool
from onexgen.storage.repositories._copy import copy_insert
from onexgen.storage.repositories.events import KEY, TABLE, EventMetricsRepository

pytestmark = pytest.mark.integration


def _events(now: datetime, count: int, *, offset: int = 0) -> list[EventMetricRow]:
    rows = []
    for i in range(offset, offset + count):
        failed = i % 5 == 0
        rows.append(EventMetricRow(
            event_key=f"onexgen.requests:{i % 3}:{i}", event_type="generation_request",
            event_source="codegen", processing_duration_ms=float(i % 50),
            queue_wait_time_ms=None if i % 7 == 0 else 1.5, success=not failed,
            error_type="ValidationError" if failed else None,
            error_message="bad field" if failed else None, retry_count=i % 3, batch_size=10,
            created_at=now - timedelta(milliseconds=i),
        ))
    return rows


def _generation(now: datetime) -> list[GenerationMetricRow]:
    return [
        GenerationMetricRow(
            request_id=f"req-{i}", node_type=list(NodeType)[i % 4], phase=phase,
            duration_ms=float(i + 1), created_at=now, memory_mb=12.5, cpu_percent=150.0,
            cache_hit=i % 2 == 0, parallel_execution=True, worker_count=2,
            metadata={"template_version": "1", "files": i} if i % 2 else None,
        )
        for i in range(4) for phase in GenerationPhase
    ]


async def test_write_many_new_events_inserts_every_row(db: Database, now: datetime) -> None:
    rows = _events(now, 250)
    assert await db.events.write_many(rows) == 250
    assert await db.events.count() == 250


async def test_write_many_replayed_events_inserts_nothing(db: Database, now: datetime) -> None:
    rows = _events(now, 120)
    await db.events.write_many(rows)
    assert await db.events.write_many(rows) == 0
    assert await db.events.write_many(rows + _events(now, 5, offset=120)) == 5
    assert await db.events.count() == 125


async def test_write_many_small_chunks_writes_all_chunks(migrated_url: str, now: datetime) -> None:
    async with Database(await create_pool(migrated_url, 1, 2)) as db:
        repo = EventMetricsRepository(db.pool, chunk_size=7)
        assert await repo.write_many(_events(now, 30)) == 30
        assert await repo.write_many(_events(now, 30)) == 0


async def test_write_many_one_connection_staging_kept_empty_and_survives_a_failure(
    migrated_url: str, now: datetime,
) -> None:
    """The staging table outlives a call on its connection, empty after each commit; a
    failed write rolls back and the next write on the same connection still lands."""
    async with Database(await create_pool(migrated_url, 1, 1)) as db:
        assert await db.events.write_many(_events(now, 10)) == 10
        assert await db.events.write_many(_events(now, 10, offset=10)) == 10
        async with db.pool.acquire() as conn:
            assert await conn.fetchval(
                "SELECT count(*) FROM _stage_event_processing_metrics") == 0
        bad = _events(now, 1, offset=20)[0].as_record()
        bad = (*bad[:3], -1.0, *bad[4:])  # processing_duration_ms < 0: the table's CHECK
        with pytest.raises(StorageError):
            await copy_insert(db.pool, TABLE, EVENT_COLUMNS, KEY, [bad])
        assert await db.events.write_many(_events(now, 5, offset=30)) == 5
        assert await db.events.count() == 25


async def test_insert_one_replayed_event_returns_zero(db: Database, now: datetime) -> None:
    row = _events(now, 1)[0]
    assert await db.events.insert_one(row) == 1
    assert await db.events.insert_one(row) == 0
    assert await db.events.write_many([row]) == 0
    assert await db.events.count() == 1


async def test_write_many_event_outside_partitions_lands_in_default_then_moves(
    db: Database, now: datetime,
) -> None:
    old = now - timedelta(days=20)
    await db.events.write_many(_events(old, 3))
    async with db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_processing_metrics_default") == 3
        async with conn.transaction():
            created = await ensure_partitions(conn, days_back=21, days_ahead=0)
        day = f"event_processing_metrics_p{old.astimezone(UTC):%Y%m%d}"
        assert day in created and day in await list_partitions(conn, "event_processing_metrics")
        assert await conn.fetchval("SELECT count(*) FROM event_processing_metrics_default") == 0
        assert await conn.fetchval(f'SELECT count(*) FROM "{day}"') >= 1
        assert await ensure_partitions(conn, days_back=21, days_ahead=0) == []
    assert await db.events.count() == 3
    assert await db.events.write_many(_events(old, 3)) == 0


async def test_write_many_generation_rows_satisfy_checks_and_replay_inserts_nothing(
    db: Database, now: datetime,
) -> None:
    rows = _generation(now)
    assert await db.generation.write_many(rows) == len(rows) == 24
    assert await db.generation.write_many(rows) == 0
    assert await db.generation.count() == 24


async def test_write_many_generation_metadata_round_trips_as_jsonb(
    db: Database, now: datetime,
) -> None:
    await db.generation.write_many(_generation(now))
    stored = await db.pool.fetchval(
        "SELECT metadata FROM generation_performance_metrics "
        "WHERE request_id = 'req-1' AND phase = 'total'")
    assert stored == {"template_version": "1", "files": 1}
    matched = await db.pool.fetchval(
        "SELECT count(*) FROM generation_performance_metrics WHERE metadata @> $1::jsonb",
        {"files": 3})
    assert matched == len(GenerationPhase)
