"""Template cache upserts, pattern feedback and the mixin matrix against the real server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from onexgen.models.rows import MixinOutcome, PatternFeedbackRow, TemplateCacheUpdate, TemplateType
from onexgen.models.wire import FeedbackSource, NodeType, PatternFeedbackType
from onexgen.storage.errors import ConstraintViolation, translated
from onexgen.storage.pool import Database
from onexgen.storage.repositories.mixins import outcomes_for

pytestmark = pytest.mark.integration


def _template(name: str, kind: TemplateType, at: datetime, **counts: int) -> TemplateCacheUpdate:
    return TemplateCacheUpdate(
        template_name=name, template_type=kind, cache_key=f"{name}:v1", file_path=f"t/{name}",
        file_hash="0123456789abcdef" * 4, size_bytes=len(name) * 100, last_accessed_at=at,
        load_time_ms=2.5 if counts.get("cache_misses") else None, **counts,
    )


def _feedback(i: int, source: FeedbackSource, **extra: object) -> PatternFeedbackRow:
    return PatternFeedbackRow.model_validate({
        "request_id": f"req-{i}", "pattern_name": "CRUD", "detected_confidence": 0.75,
        "feedback_type": list(PatternFeedbackType)[i % 4], "source": source,
        "feedback_key": f"onexgen.feedback:0:{i}", **extra,
    })


async def test_write_many_every_template_type_is_accepted(db: Database, now: datetime) -> None:
    updates = [_template(f"{kind.value}.j2", kind, now, access_count=1, cache_misses=1)
               for kind in TemplateType]
    assert await db.templates.write_many(updates) == len(TemplateType)


async def test_write_many_existing_template_adds_counters(db: Database, now: datetime) -> None:
    await db.templates.write_many([_template("node.j2", TemplateType.NODE, now,
                                             access_count=1, cache_misses=1)])
    later = now + timedelta(seconds=30)
    await db.templates.write_many([
        _template("node.j2", TemplateType.NODE, later, access_count=4, cache_hits=4),
        _template("node.j2", TemplateType.NODE, now, access_count=1, cache_hits=1),
    ])
    row = await db.templates.get("node.j2")
    assert row is not None
    assert (row.access_count, row.cache_hits, row.cache_misses) == (6, 5, 1)
    assert row.last_accessed_at == later
    assert row.load_time_ms == 2.5  # hits carry no load time, the miss's is kept


async def test_record_pattern_feedback_source_sets_learning_weight(db: Database) -> None:
    user = _feedback(1, FeedbackSource.USER, contract_json={"name": "x"},
                     capabilities_matched=["create", "read"], false_positives=["delete"])
    automated = _feedback(2, FeedbackSource.AUTOMATED, actual_pattern="TRANSFORMATION")
    assert await db.feedback.record(user) is not None
    assert await db.feedback.record(automated) is not None
    assert await db.feedback.weights([user.key(), automated.key()]) == {
        user.key(): 1.0, automated.key(): 0.5}
    stored = await db.pool.fetchrow(
        "SELECT user_provided, contract_json, capabilities_matched, false_positives "
        "FROM pattern_feedback_log WHERE feedback_key = $1", user.key())
    assert stored is not None
    assert dict(stored) == {"user_provided": True, "contract_json": {"name": "x"},
                            "capabilities_matched": ["create", "read"],
                            "false_positives": ["delete"]}


async def test_record_pattern_feedback_replayed_key_inserts_nothing(db: Database) -> None:
    row = _feedback(1, FeedbackSource.USER)
    assert await db.feedback.record(row) is not None
    assert await db.feedback.record(row) is None
    assert await db.pool.fetchval("SELECT count(*) FROM pattern_feedback_log") == 1


async def test_write_many_feedback_batch_with_replays_counts_only_new(
    db: Database, now: datetime,
) -> None:
    rows = [_feedback(i, list(FeedbackSource)[i % 2], created_at=now,
                      capabilities_matched=["a"] * (i % 3)) for i in range(8)]
    assert await db.feedback.write_many(rows[:5]) == 5
    assert await db.feedback.write_many(rows + rows[:2]) == 3
    weights = await db.feedback.weights([r.key() for r in rows])
    assert weights == {r.key(): r.learning_weight for r in rows}
    assert await db.pool.fetchval("SELECT count(*) FROM pattern_feedback_log") == 8


async def test_update_mixin_compatibility_either_order_hits_one_row(db: Database) -> None:
    await db.mixins.record(MixinOutcome(mixin_a="Retry", mixin_b="Caching",
                                        node_type=NodeType.EFFECT, success=True))
    await db.mixins.record(MixinOutcome(mixin_a="Caching", mixin_b="Retry",
                                        node_type=NodeType.EFFECT, success=True))
    row = await db.mixins.record(MixinOutcome(
        mixin_a="Retry", mixin_b="Caching", node_type=NodeType.EFFECT, success=False,
        conflict_reason="retry replays cached writes", resolution_pattern="idempotency key"))
    assert (row.mixin_a, row.mixin_b) == ("Caching", "Retry")
    assert (row.success_count, row.failure_count) == (2, 1)
    assert row.compatibility_score == pytest.approx(2 / 3)
    assert row.conflict_reason == "retry replays cached writes"
    assert row.last_tested_at is not None
    assert await db.pool.fetchval("SELECT count(*) FROM mixin_compatibility_matrix") == 1
    assert await db.mixins.get("Retry", "Caching", NodeType.EFFECT) == row
    assert await db.mixins.get("Retry", "Caching", NodeType.COMPUTE) is None


async def test_update_mixin_compatibility_replayed_outcome_key_counts_once(
    db: Database,
) -> None:
    outcomes = outcomes_for(NodeType.COMPUTE, ["Caching", "Retry", "Audit"], False,
                            reason="stateful mixin on COMPUTE", key="onexgen.feedback:1:42")
    first = await db.mixins.record_many(outcomes)
    again = await db.mixins.record_many(outcomes)
    assert len(first) == len(again) == 3
    assert [(r.success_count, r.failure_count, r.compatibility_score) for r in again] == [
        (0, 1, 0.0)] * 3
    rows = await db.mixins.for_node_type(NodeType.COMPUTE)
    assert [(r.mixin_a, r.mixin_b) for r in rows] == [
        ("Audit", "Caching"), ("Audit", "Retry"), ("Caching", "Retry")]


async def test_update_mixin_compatibility_same_mixin_twice_raises_constraint_violation(
    db: Database,
) -> None:
    with pytest.raises(ConstraintViolation, match="itself"):
        await db.mixins.record(MixinOutcome(mixin_a="Retry", mixin_b="Retry",
                                            node_type=NodeType.EFFECT, success=True))


async def test_mixin_matrix_non_canonical_direct_insert_is_refused(db: Database) -> None:
    with pytest.raises(ConstraintViolation), translated("inserting a raw pair"):
        await db.pool.execute(
            "INSERT INTO mixin_compatibility_matrix (mixin_a, mixin_b, node_type) "
            "VALUES ('Retry', 'Caching', 'effect')")
