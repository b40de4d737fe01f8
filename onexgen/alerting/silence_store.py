"""``alert_silences``: create, list, expire and poll the silences of the alert-manager.

The CLI writes here and every worker's alert-manager polls :meth:`active`
every few seconds, so a silence takes effect everywhere within one refresh
interval without any message between processes. Expiring keeps the row (sets
``ends_at`` to now): who silenced what and why stays visible afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from onexgen.alerting.silences import Silence
from onexgen.storage.errors import translated

__all__ = ["SilenceRepository"]

_COLUMNS = "id, matchers, starts_at, ends_at, created_by, comment"


def _row(record: asyncpg.Record) -> Silence:
    return Silence(str(record["id"]), tuple(record["matchers"]), record["starts_at"],
                   record["ends_at"], str(record["created_by"]), str(record["comment"]))


class SilenceRepository:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def create(self, silence: Silence) -> None:
        """Insert ``silence``; inserting the same id twice is a no-op (CLI retry safe)."""
        with translated("creating a silence"):
            await self._pool.execute(
                f"INSERT INTO alert_silences ({_COLUMNS}) "  # noqa: S608 - constant column list
                "VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (id) DO NOTHING",
                silence.id, list(silence.matchers), silence.starts_at, silence.ends_at,
                silence.created_by, silence.comment)

    async def active(self, now: datetime) -> list[Silence]:
        """Silences in force at ``now`` (what the alert-manager applies)."""
        with translated("reading active silences"):
            rows = await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM alert_silences "  # noqa: S608 - constant column list
                "WHERE starts_at <= $1 AND ends_at > $1 ORDER BY ends_at", now)
        return [_row(r) for r in rows]

    async def list(self, *, include_expired: bool = False, limit: int = 200) -> list[Silence]:
        """Newest first; expired ones only when asked."""
        where = "" if include_expired else "WHERE ends_at > now()"
        with translated("listing silences"):
            rows = await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM alert_silences {where} "  # noqa: S608 - constant parts
                "ORDER BY created_at DESC LIMIT $1", limit)
        return [_row(r) for r in rows]

    async def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when no active silence has that id."""
        with translated("expiring a silence"):
            status = await self._pool.execute(
                "UPDATE alert_silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2 "
                "AND starts_at < $2", silence_id, now)
        return str(status).endswith(" 1")
