"""Writes to ``pattern_feedback_log`` through ``record_pattern_feedback()``.

The stored function owns the learning-weight rule (user 1.0, automated 0.5)
and the idempotency key, so every writer (this repository, psql, a backfill)
gets the same behaviour. A batch is one round trip: the rows travel as one
JSONB array and the function runs once per element.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from onexgen.models.rows import PatternFeedbackRow
from onexgen.storage.errors import translated

_RECORD_ONE = (
    "SELECT record_pattern_feedback($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)

_RECORD_MANY = """
SELECT count(r.id)
FROM jsonb_to_recordset($1::jsonb) AS x(
    feedback_key text, request_id text, pattern_name text, detected_confidence float8,
    feedback_type text, source text, actual_pattern text, contract_json jsonb,
    capabilities_matched text[], false_positives text[], false_negatives text[],
    created_at timestamptz)
CROSS JOIN LATERAL record_pattern_feedback(
    x.feedback_key, x.request_id, x.pattern_name, x.detected_confidence, x.feedback_type,
    x.source, x.actual_pattern, x.contract_json, x.capabilities_matched, x.false_positives,
    x.false_negatives, x.created_at) AS r(id)
"""


def _as_args(row: PatternFeedbackRow) -> tuple[Any, ...]:
    return (row.key(), row.request_id, row.pattern_name, row.detected_confidence,
            row.feedback_type.value, row.source.value, row.actual_pattern, row.contract_json,
            row.capabilities_matched, row.false_positives, row.false_negatives, row.created_at)


def _as_json(row: PatternFeedbackRow) -> dict[str, Any]:
    data = row.model_dump(mode="json", exclude={"feedback_key"})
    data["feedback_key"] = row.key()
    return data


class PatternFeedbackRepository:
    """Idempotent writer and reader for pattern feedback."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def record(self, row: PatternFeedbackRow) -> int | None:
        """Store one feedback; the new id, or None if its key was already recorded."""
        with translated("recording pattern feedback"):
            value = await self._pool.fetchval(_RECORD_ONE, *_as_args(row))
        return None if value is None else int(value)

    async def write_many(self, rows: Iterable[PatternFeedbackRow]) -> int:
        """Store a batch in one round trip; return how many were new."""
        payload = [_as_json(row) for row in rows]
        if not payload:
            return 0
        with translated(f"recording {len(payload)} pattern feedback rows"):
            value = await self._pool.fetchval(_RECORD_MANY, payload)
        return int(value)

    async def weights(self, feedback_keys: Sequence[str]) -> dict[str, float]:
        """Stored learning weight per key (keys never recorded are absent)."""
        with translated("reading pattern_feedback_log"):
            records = await self._pool.fetch(
                "SELECT feedback_key, learning_weight FROM pattern_feedback_log "
                "WHERE feedback_key = ANY($1::text[])",
                list(feedback_keys),
            )
        return {str(r["feedback_key"]): float(r["learning_weight"]) for r in records}
