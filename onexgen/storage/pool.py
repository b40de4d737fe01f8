"""Connections to Postgres: a bounded-retry connect, the pool, and ``Database``.

A worker starting next to a Postgres that is still coming up should wait a
little, not crash; a wrong DSN should fail at once with a message naming the
fix. Both paths leave here as ``storage.errors`` exceptions, never raw asyncpg
or socket errors. JSONB values are (de)serialised with orjson in the binary
wire format, which is also what COPY needs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import orjson

from onexgen.storage.errors import (
    ConnectionRejected,
    DatabaseUnavailable,
    StorageError,
    redact_dsn,
    translate,
)
from onexgen.storage.repositories.events import EventMetricsRepository
from onexgen.storage.repositories.feedback import PatternFeedbackRepository
from onexgen.storage.repositories.generation import GenerationMetricsRepository
from onexgen.storage.repositories.mixins import MixinCompatibilityRepository
from onexgen.storage.repositories.templates import TemplateCacheRepository
from onexgen.storage.repositories.views import ViewsRepository
from onexgen.support.certificates import out_of_date

T = TypeVar("T")

_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def setup_codecs(conn: asyncpg.Connection[Any]) -> None:
    """Register orjson for ``jsonb`` and ``json`` on one connection (pool ``init`` hook)."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="binary",
                              encoder=_encode_jsonb, decoder=_decode_jsonb)
    await conn.set_type_codec("json", schema="pg_catalog", format="text",
                              encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads)


async def release_as_is(conn: asyncpg.Connection[Any]) -> None:
    """The pool's reset on release: roll back a transaction left open, nothing more.

    asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a round trip, 57-89 against 24 µs of the worker's CPU
    an acquire and release (``python -m bench.bench_pg_writes --releases``).
    Nothing run on a pooled connection leaves session state that query undoes (no
    session advisory lock, held cursor, LISTEN or SET: migrations take their lock on a
    connection of their own), and the COPY staging tables are meant to stay.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def with_retry(
    attempt: Callable[[], Awaitable[T]], *, dsn: str, attempts: int, backoff_s: float
) -> T:
    """Run ``attempt`` until it succeeds, retrying only retryable failures, at most ``attempts``.

    Backoff doubles from ``backoff_s`` with jitter. The last failure is raised
    as a storage error naming the (password-free) DSN.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    action = f"connecting to {redact_dsn(dsn)}"
    check_client_certificate(dsn, action)
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            error = translate(exc, action)
            if not error.retryable:
                raise error from exc
            if number == attempts:
                raise DatabaseUnavailable(
                    f"{error} (gave up after {attempts} attempts)", sqlstate=error.sqlstate
                ) from exc
        delay = backoff_s * 2 ** (number - 1)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def check_client_certificate(dsn: str, action: str) -> None:
    """Refuse an out-of-date ``sslcert=`` before connecting: Postgres answers one by
    closing the connection, which would otherwise be retried as an outage."""
    cert = parse_qs(urlsplit(dsn).query).get("sslcert")
    if not cert:
        return
    problem = out_of_date(Path(cert[-1]))
    if problem is not None:
        raise ConnectionRejected(
            f"{action} failed: the client certificate {cert[-1]} {problem}; renew it, or "
            "point sslcert= (and sslkey=) in ONEXGEN_DATABASE_URL at a current one")


async def connect(
    dsn: str, *, attempts: int = 5, backoff_s: float = 0.2, timeout_s: float = 10.0
) -> asyncpg.Connection[Any]:
    """One connection with codecs, retried like ``create_pool``; for migrations and admin work."""

    async def attempt() -> asyncpg.Connection[Any]:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn, timeout=timeout_s)
        try:
            await setup_codecs(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    return await with_retry(attempt, dsn=dsn, attempts=attempts, backoff_s=backoff_s)


async def create_pool(
    dsn: str,
    min_size: int,
    max_size: int,
    *,
    attempts: int = 5,
    backoff_s: float = 0.2,
    timeout_s: float = 10.0,
    command_timeout_s: float = 30.0,
) -> asyncpg.Pool[Any]:
    """An asyncpg pool with orjson JSONB codecs, opened with bounded retries.

    Raises ``DatabaseUnavailable`` after ``attempts`` failed tries (the server is
    down or full) and ``ConnectionRejected`` at once when the login is refused.
    """
    if not 0 <= min_size <= max_size or max_size < 1:
        raise ValueError(f"need 0 <= min_size <= max_size and max_size >= 1, got {min_size}, "
                         f"{max_size}")

    async def attempt() -> asyncpg.Pool[Any]:
        pool: asyncpg.Pool[Any] = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=setup_codecs,
            reset=release_as_is, timeout=timeout_s, command_timeout=command_timeout_s,
        )
        return pool

    return await with_retry(attempt, dsn=dsn, attempts=attempts, backoff_s=backoff_s)


class Database:
    """The pool plus one repository per table family; ``close()`` when the worker stops."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self.pool = pool
        self.events = EventMetricsRepository(pool)
        self.generation = GenerationMetricsRepository(pool)
        self.templates = TemplateCacheRepository(pool)
        self.feedback = PatternFeedbackRepository(pool)
        self.mixins = MixinCompatibilityRepository(pool)
        self.views = ViewsRepository(pool)

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 1, max_size: int = 10,
                   attempts: int = 5) -> Database:
        """Create the pool (with retries) and wrap it."""
        return cls(await create_pool(dsn, min_size, max_size, attempts=attempts))

    async def ping(self) -> None:
        """Round trip to the server, for health checks; raises ``DatabaseUnavailable``."""
        try:
            await self.pool.fetchval("SELECT 1")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise translate(exc, "health check") from exc

    async def close(self, timeout_s: float = 10.0) -> None:
        """Close the pool, waiting up to ``timeout_s`` for borrowed connections, then terminate."""
        try:
            await asyncio.wait_for(self.pool.close(), timeout_s)
        except TimeoutError:
            self.pool.terminate()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["Database", "StorageError", "connect", "create_pool", "release_as_is",
           "setup_codecs", "with_retry"]
