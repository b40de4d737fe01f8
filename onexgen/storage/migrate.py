"""Apply the versioned SQL files in ``storage/migrations`` to a database.

Files are named ``NNNN_description.sql`` and applied in version order, each in
its own transaction, and recorded in ``schema_migrations`` with a SHA-256 of
their text. A session advisory lock serialises concurrent runs (several
workers starting at once): the second waits, then finds nothing to do. An
applied file whose text changed is refused: fix forward with a new file.
After the files, today's daily partitions (and a few either side) are ensured
on every run, so a worker that starts on a new day never writes to DEFAULT.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

from onexgen.storage.errors import MigrationError, redact_dsn, translated
from onexgen.storage.partitions import ensure_partitions
from onexgen.storage.pool import connect

LOCK_KEY = 7_140_214_001  # pg_advisory_lock key owned by onexgen migrations
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_FIND_HOLDER = ("find its session in pg_locks (locktype 'advisory') and wait for it to "
                "finish or end it")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The packaged migration files, sorted by version; refuses duplicates and bad names."""
    found: dict[str, Migration] = {}
    for entry in (resources.files("onexgen.storage") / "migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} must be named NNNN_words.sql; "
                                 "rename it")
        version, name = match.groups()
        if version in found:
            raise MigrationError(f"two migration files share version {version}; renumber one")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(
    dsn: str, *, lock_timeout_s: float = 120.0, partition_days_back: int = 3,
    partition_days_ahead: int = 7,
) -> list[str]:
    """Bring the database at ``dsn`` up to date; return the versions applied by this call.

    Safe to run twice and from several processes at once. Raises
    ``MigrationError`` when a file fails (that file's transaction is rolled
    back, earlier ones stay) or when an applied file was edited.
    """
    migrations = load_migrations()
    conn = await connect(dsn)
    try:
        with translated(f"migrating {redact_dsn(dsn)}"):
            await _lock(conn, lock_timeout_s)
            try:
                await conn.execute(_CREATE_TABLE)
                applied = await _apply_pending(conn, migrations)
                async with conn.transaction():
                    await ensure_partitions(conn, partition_days_back, partition_days_ahead)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()
    return applied


async def _lock(conn: asyncpg.Connection[Any], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        if time.monotonic() > deadline:
            raise MigrationError(
                f"another migration has held advisory lock {LOCK_KEY} for over {timeout_s:.0f} s; "
                + _FIND_HOLDER
            )
        await asyncio.sleep(0.1)


async def _apply_pending(conn: asyncpg.Connection[Any], migrations: list[Migration]) -> list[str]:
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    done = {str(r["version"]): str(r["checksum"]) for r in rows}
    applied: list[str] = []
    for migration in migrations:
        recorded = done.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version}_{migration.name}.sql changed after it was "
                    "applied; restore the original text and put the change in a new migration"
                )
            continue
        try:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version, migration.name, migration.checksum,
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise MigrationError(
                f"migration {migration.version}_{migration.name}.sql failed and was rolled back "
                f"({type(exc).__name__}: {exc}); fix the file and rerun migrate",
                sqlstate=getattr(exc, "sqlstate", None),
            ) from exc
        applied.append(migration.version)
    return applied


async def applied_versions(dsn: str) -> list[str]:
    """Versions recorded in ``schema_migrations`` (empty if migrations never ran)."""
    conn = await connect(dsn)
    try:
        with translated("reading schema_migrations"):
            if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
                return []
            rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
            return [str(r["version"]) for r in rows]
    finally:
        await conn.close()
