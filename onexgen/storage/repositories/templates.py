"""Upserts to ``template_cache_metadata``: one row per template, counters added.

The template cache reports deltas (hits, misses, accesses since its last
flush). Deltas for the same template are merged in Python first, because one
``INSERT ... ON CONFLICT DO UPDATE`` may not touch a row twice; then a single
statement upserts the whole batch from arrays. Counter deltas are not
idempotent: flush each delta once (the cache owns them, not Kafka).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from onexgen.models.rows import TemplateCacheRow, TemplateCacheUpdate
from onexgen.storage.errors import translated
from onexgen.storage.repositories._copy import inserted_count

TABLE = "template_cache_metadata"

_UPSERT = """
INSERT INTO template_cache_metadata AS t (template_name, template_type, cache_key, file_path,
    file_hash, size_bytes, load_time_ms, last_accessed_at, access_count, cache_hits, cache_misses)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
    $7::float8[], $8::timestamptz[], $9::bigint[], $10::bigint[], $11::bigint[])
ON CONFLICT (template_name) DO UPDATE SET
    template_type = EXCLUDED.template_type,
    cache_key = EXCLUDED.cache_key,
    file_path = EXCLUDED.file_path,
    file_hash = EXCLUDED.file_hash,
    size_bytes = EXCLUDED.size_bytes,
    load_time_ms = coalesce(EXCLUDED.load_time_ms, t.load_time_ms),
    last_accessed_at = greatest(t.last_accessed_at, EXCLUDED.last_accessed_at),
    access_count = t.access_count + EXCLUDED.access_count,
    cache_hits = t.cache_hits + EXCLUDED.cache_hits,
    cache_misses = t.cache_misses + EXCLUDED.cache_misses,
    updated_at = now()
"""


def merge_template_updates(updates: Iterable[TemplateCacheUpdate]) -> list[TemplateCacheUpdate]:
    """One update per template: counters summed, descriptive fields from the latest access.

    ``load_time_ms`` comes from the latest update that had a load (hits carry none).
    Order of first appearance is kept.
    """
    merged: dict[str, TemplateCacheUpdate] = {}
    for update in updates:
        previous = merged.get(update.template_name)
        if previous is None:
            merged[update.template_name] = update
            continue
        newer, older = ((update, previous) if update.last_accessed_at >= previous.last_accessed_at
                        else (previous, update))
        load = newer.load_time_ms if newer.load_time_ms is not None else older.load_time_ms
        merged[update.template_name] = newer.model_copy(update={
            "load_time_ms": load,
            "access_count": previous.access_count + update.access_count,
            "cache_hits": previous.cache_hits + update.cache_hits,
            "cache_misses": previous.cache_misses + update.cache_misses,
        })
    return list(merged.values())


class TemplateCacheRepository:
    """Upserts template cache statistics and reads them back."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def write_many(self, updates: Iterable[TemplateCacheUpdate]) -> int:
        """Apply the deltas in one statement; return the number of templates touched."""
        merged = merge_template_updates(updates)
        if not merged:
            return 0
        columns: list[list[Any]] = [
            [u.template_name for u in merged],
            [u.template_type.value for u in merged],
            [u.cache_key for u in merged],
            [u.file_path for u in merged],
            [u.file_hash for u in merged],
            [u.size_bytes for u in merged],
            [u.load_time_ms for u in merged],
            [u.last_accessed_at for u in merged],
            [u.access_count for u in merged],
            [u.cache_hits for u in merged],
            [u.cache_misses for u in merged],
        ]
        with translated(f"upserting {len(merged)} rows into {TABLE}"):
            status = await self._pool.execute(_UPSERT, *columns)
        return inserted_count(status)

    async def get(self, template_name: str) -> TemplateCacheRow | None:
        """The stored row for one template, or None."""
        with translated(f"reading {TABLE}"):
            record = await self._pool.fetchrow(
                f"SELECT * FROM {TABLE} WHERE template_name = $1", template_name  # noqa: S608 - constant table name
            )
        return None if record is None else TemplateCacheRow.model_validate(dict(record))
