"""The learning loop's tables: model versions, mixin feedback events, the request log.

``ModelVersionRepository`` stores trained models with their evaluation figures
(a worker loads the newest per kind at start). ``MixinFeedbackRepository``
keeps whole mixin sets from feedback events, which the pair matrix cannot, so
a full retrain can learn from them; its writes say which events were new, so
a redelivered event updates a model once. ``RequestLogRepository`` keeps the
raw JSON of processed requests, so pattern feedback (which carries only a
request id) can be learned from on whichever worker consumes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from onexgen.storage.errors import translated

_SEPARATOR = "\x1f"
"""unnest() cannot take a ragged text[][]: each mixin set travels as one joined string."""

_RECORD_EVENTS = """
INSERT INTO mixin_feedback_events (event_key, request_id, node_type, mixins, success, error,
                                   source, learning_weight)
SELECT k, r, t, string_to_array(m, chr(31)), s, e, src, w
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[],
            $8::float8[]) AS x(k, r, t, m, s, e, src, w)
ON CONFLICT (event_key) DO NOTHING
RETURNING event_key
"""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: int
    created_at: datetime
    kind: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    blob: bytes


@dataclass(frozen=True, slots=True)
class MixinFeedbackEvent:
    event_key: str
    node_type: str
    mixins: list[str]
    success: bool
    source: str
    learning_weight: float
    request_id: str | None = None
    error: str | None = None
    created_at: datetime | None = None


class ModelVersionRepository:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def save(self, kind: str, blob: bytes, *, params: dict[str, Any],
                   metrics: dict[str, Any]) -> int:
        """Store one version; its id."""
        with translated(f"storing a {kind} model version"):
            value = await self._pool.fetchval(
                "INSERT INTO model_versions (kind, params, metrics, blob) "
                "VALUES ($1, $2, $3, $4) RETURNING id", kind, params, metrics, blob)
        return int(value)

    async def latest(self, kind: str) -> ModelVersion | None:
        """The newest version of ``kind``, or None when none was stored."""
        with translated(f"reading the newest {kind} model version"):
            record = await self._pool.fetchrow(
                "SELECT * FROM model_versions WHERE kind = $1 ORDER BY id DESC LIMIT 1", kind)
        return None if record is None else ModelVersion(**dict(record))

    async def history(self, kind: str, limit: int = 20) -> list[ModelVersion]:
        """Newest first, without blobs' bytes changing anything (for ``mixins eval``)."""
        with translated(f"reading {kind} model versions"):
            records = await self._pool.fetch(
                "SELECT * FROM model_versions WHERE kind = $1 ORDER BY id DESC LIMIT $2",
                kind, limit)
        return [ModelVersion(**dict(r)) for r in records]


class MixinFeedbackRepository:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def record_many(self, events: Sequence[MixinFeedbackEvent]) -> set[str]:
        """Store events (once per ``event_key``); the keys that were new."""
        if not events:
            return set()
        columns: list[list[Any]] = [
            [e.event_key for e in events], [e.request_id for e in events],
            [e.node_type for e in events], [_SEPARATOR.join(e.mixins) for e in events],
            [e.success for e in events], [e.error for e in events],
            [e.source for e in events], [e.learning_weight for e in events]]
        with translated(f"recording {len(events)} mixin feedback events"):
            records = await self._pool.fetch(_RECORD_EVENTS, *columns)
        return {str(r["event_key"]) for r in records}

    async def all(self, limit: int = 100_000) -> list[MixinFeedbackEvent]:
        """The newest ``limit`` events, oldest first (training data for a full retrain)."""
        with translated("reading mixin_feedback_events"):
            records = await self._pool.fetch(
                "SELECT * FROM (SELECT * FROM mixin_feedback_events ORDER BY id DESC LIMIT $1) "
                "AS newest ORDER BY id", limit)
        return [MixinFeedbackEvent(
            event_key=r["event_key"], node_type=r["node_type"], mixins=list(r["mixins"]),
            success=r["success"], source=r["source"], learning_weight=r["learning_weight"],
            request_id=r["request_id"], error=r["error"], created_at=r["created_at"])
            for r in records]


class RequestLogRepository:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def remember_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store ``(request_id, raw request JSON)`` pairs; a repeated id keeps the first."""
        if not items:
            return
        with translated(f"remembering {len(items)} requests"):
            await self._pool.execute(
                "INSERT INTO request_log (request_id, request) "
                "SELECT id, body::jsonb FROM unnest($1::text[], $2::text[]) AS x(id, body) "
                "ON CONFLICT (request_id) DO NOTHING",
                [i for i, _ in items], [raw.decode("utf-8", "replace") for _, raw in items])

    async def get_many(self, request_ids: Sequence[str]) -> dict[str, bytes]:
        """Raw JSON per known request id (unknown ids are absent)."""
        if not request_ids:
            return {}
        with translated("reading request_log"):
            records = await self._pool.fetch(
                "SELECT request_id, request::text AS body FROM request_log "
                "WHERE request_id = ANY($1::text[])", list(set(request_ids)))
        return {str(r["request_id"]): str(r["body"]).encode() for r in records}

    async def prune(self, older_than_days: int) -> int:
        """Forget requests older than ``older_than_days``; how many were removed."""
        with translated("pruning request_log"):
            status = await self._pool.execute(
                "DELETE FROM request_log WHERE created_at < now() - make_interval(days => $1)",
                older_than_days)
        return int(status.split()[-1])
