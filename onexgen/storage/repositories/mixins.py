"""The mixin-compatibility matrix: record tested outcomes, read pair statistics.

Pairs are unordered: (Caching, Retry) and (Retry, Caching) are one row. The
stored function ``update_mixin_compatibility`` canonicalises by itself; the
Python ``canonical_pair`` uses the same order (code points, i.e. COLLATE "C")
so that reads find the row writes made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import asyncpg

from onexgen.models.rows import MixinCompatibilityRow, MixinOutcome
from onexgen.models.wire import NodeType
from onexgen.storage.errors import translated

_UPDATE_ONE = "SELECT * FROM update_mixin_compatibility($1, $2, $3, $4, $5, $6, $7, $8)"

_UPDATE_MANY = """
SELECT r.*
FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::text[],
            $8::timestamptz[]) WITH ORDINALITY AS x(a, b, node_type, success, reason,
                                                    resolution, outcome_key, tested_at, n)
CROSS JOIN LATERAL update_mixin_compatibility(
    x.a, x.b, x.node_type, x.success, x.reason, x.resolution, x.outcome_key,
    coalesce(x.tested_at, now())) AS r
ORDER BY x.n
"""


def canonical_pair(a: str, b: str) -> tuple[str, str]:
    """``(a, b)`` in storage order (by code point); a mixin cannot pair with itself."""
    if not a or not b:
        raise ValueError("mixin names must be non-empty")
    if a == b:
        raise ValueError(f"a mixin cannot be paired with itself: {a!r}")
    return (a, b) if a < b else (b, a)


def pairs_of(mixins: Iterable[str]) -> list[tuple[str, str]]:
    """Every canonical pair in a mixin set (duplicates in the set are ignored)."""
    unique = sorted(set(mixins))
    return [canonical_pair(a, b) for a, b in combinations(unique, 2)]


def outcomes_for(
    node_type: NodeType, mixins: Sequence[str], success: bool, *,
    reason: str | None = None, key: str | None = None,
) -> list[MixinOutcome]:
    """One outcome per pair of a node's mixin set, keyed ``<key>:<a>:<b>`` when ``key`` is given."""
    return [
        MixinOutcome(mixin_a=a, mixin_b=b, node_type=node_type, success=success,
                     conflict_reason=None if success else reason,
                     outcome_key=None if key is None else f"{key}:{a}:{b}")
        for a, b in pairs_of(mixins)
    ]


def _row(record: asyncpg.Record) -> MixinCompatibilityRow:
    return MixinCompatibilityRow.model_validate(dict(record))


class MixinCompatibilityRepository:
    """Records outcomes through the stored function; reads the matrix."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def record(self, outcome: MixinOutcome) -> MixinCompatibilityRow:
        """Count one outcome (once per ``outcome_key``); the pair's row afterwards."""
        with translated("updating mixin_compatibility_matrix"):
            record = await self._pool.fetchrow(
                _UPDATE_ONE, outcome.mixin_a, outcome.mixin_b, outcome.node_type.value,
                outcome.success, outcome.conflict_reason, outcome.resolution_pattern,
                outcome.outcome_key, outcome.tested_at,
            )
        if record is None or record["id"] is None:
            raise AssertionError("update_mixin_compatibility returned no row")
        return _row(record)

    async def record_many(self, outcomes: Sequence[MixinOutcome]) -> list[MixinCompatibilityRow]:
        """Count a batch in one round trip; the pair rows after each outcome, in input order."""
        if not outcomes:
            return []
        columns: list[list[Any]] = [
            [o.mixin_a for o in outcomes], [o.mixin_b for o in outcomes],
            [o.node_type.value for o in outcomes], [o.success for o in outcomes],
            [o.conflict_reason for o in outcomes], [o.resolution_pattern for o in outcomes],
            [o.outcome_key for o in outcomes], [o.tested_at for o in outcomes],
        ]
        with translated(f"updating mixin_compatibility_matrix with {len(outcomes)} outcomes"):
            records = await self._pool.fetch(_UPDATE_MANY, *columns)
        return [_row(r) for r in records]

    async def get(self, a: str, b: str, node_type: NodeType) -> MixinCompatibilityRow | None:
        """The row of one pair on one node type, whichever order the pair is given in."""
        first, second = canonical_pair(a, b)
        with translated("reading mixin_compatibility_matrix"):
            record = await self._pool.fetchrow(
                "SELECT * FROM mixin_compatibility_matrix "
                "WHERE mixin_a = $1 AND mixin_b = $2 AND node_type = $3",
                first, second, node_type.value,
            )
        return None if record is None else _row(record)

    async def for_node_type(self, node_type: NodeType) -> list[MixinCompatibilityRow]:
        """Every known pair for a node type (the learning model's training set)."""
        with translated("reading mixin_compatibility_matrix"):
            records = await self._pool.fetch(
                "SELECT * FROM mixin_compatibility_matrix WHERE node_type = $1 "
                "ORDER BY mixin_a, mixin_b",
                node_type.value,
            )
        return [_row(r) for r in records]
