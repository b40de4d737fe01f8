"""Migrations against the real server: idempotent, concurrent-safe, tamper-evident."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

from onexgen.storage.errors import ConnectionRejected, DatabaseUnavailable, MigrationError
from onexgen.storage.migrate import applied_versions, load_migrations, migrate
from onexgen.storage.partitions import list_partitions
from onexgen.storage.pool import create_pool

pytestmark = pytest.mark.integration

ALL_VERSIONS = [m.version for m in load_migrations()]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_migrate_twice_second_run_applies_nothing(fresh_database_url: str) -> None:
    assert await migrate(fresh_database_url) == ALL_VERSIONS
    assert await migrate(fresh_database_url) == []
    assert await applied_versions(fresh_database_url) == ALL_VERSIONS


async def test_migrate_from_two_tasks_concurrently_applies_each_version_once(
    fresh_database_url: str,
) -> None:
    first, second = await asyncio.gather(migrate(fresh_database_url), migrate(fresh_database_url))
    assert sorted(first + second) == ALL_VERSIONS
    assert [] in (first, second)
    assert await applied_versions(fresh_database_url) == ALL_VERSIONS


async def test_migrate_fresh_database_creates_default_and_daily_partitions(
    fresh_database_url: str,
) -> None:
    await migrate(fresh_database_url, partition_days_back=1, partition_days_ahead=2)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        for table in ("event_processing_metrics", "generation_performance_metrics"):
            names = await list_partitions(conn, table)
            assert f"{table}_default" in names
            assert len([n for n in names if "_p2" in n]) == 4  # yesterday .. today+2
    finally:
        await conn.close()


async def test_migrate_applied_file_edited_raises_migration_error(migrated_url: str) -> None:
    conn = await asyncpg.connect(migrated_url)
    try:
        await conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = '0002'")
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(migrated_url)


async def test_create_pool_closed_port_raises_database_unavailable() -> None:
    dsn = f"postgresql://onexgen:pw@127.0.0.1:{_closed_port()}/onexgen"
    with pytest.raises(DatabaseUnavailable, match="gave up after 2 attempts") as info:
        await create_pool(dsn, 1, 2, attempts=2, backoff_s=0.01)
    assert isinstance(info.value.__cause__, OSError)
    assert "pw@" not in str(info.value)


async def test_migrate_closed_port_raises_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable):
        await migrate(f"postgresql://onexgen:pw@127.0.0.1:{_closed_port()}/onexgen")


async def test_create_pool_unknown_database_raises_connection_rejected_without_retry(
    database_url: str,
) -> None:
    base, _, _ = database_url.rpartition("/")
    with pytest.raises(ConnectionRejected, match="ONEXGEN_DATABASE_URL"):
        await create_pool(f"{base}/no_such_database_here", 1, 2, attempts=50, backoff_s=10)
