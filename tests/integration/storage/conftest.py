"""A migrated fresh database and an open ``Database`` on it, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from onexgen.storage.migrate import migrate
from onexgen.storage.pool import Database


@pytest.fixture
async def migrated_url(fresh_database_url: str) -> str:
    await migrate(fresh_database_url)
    return fresh_database_url


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Database]:
    database = await Database.open(migrated_url, min_size=1, max_size=4)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def now() -> datetime:
    """Whole seconds, so values round-trip through timestamptz exactly."""
    return datetime.now(UTC).replace(microsecond=0)
