"""Pure logic of the storage layer: pair order, delta merging, row checks, command tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onexgen.models.rows import (
    EventMetricRow,
    GenerationMetricRow,
    GenerationPhase,
    PatternFeedbackRow,
    TemplateCacheUpdate,
    TemplateType,
)
from onexgen.models.wire import FeedbackSource, NodeType, PatternFeedbackType
from onexgen.storage.migrate import load_migrations
from onexgen.storage.repositories._copy import inserted_count
from onexgen.storage.repositories.mixins import canonical_pair, outcomes_for, pairs_of
from onexgen.storage.repositories.templates import merge_template_updates

NOW = datetime(2025, 1, 15, 12, tzinfo=UTC)


def test_canonical_pair_either_order_returns_same_pair() -> None:
    assert canonical_pair("Retry", "Caching") == ("Caching", "Retry")
    assert canonical_pair("Caching", "Retry") == ("Caching", "Retry")


def test_canonical_pair_mixed_case_orders_by_code_point() -> None:
    # COLLATE "C" order: upper case sorts before lower case
    assert canonical_pair("audit", "Zeta") == ("Zeta", "audit")


def test_canonical_pair_same_mixin_raises_value_error() -> None:
    with pytest.raises(ValueError, match="itself"):
        canonical_pair("Retry", "Retry")


def test_pairs_of_set_with_duplicates_returns_each_pair_once() -> None:
    assert pairs_of(["Retry", "Caching", "Retry", "Audit"]) == [
        ("Audit", "Caching"), ("Audit", "Retry"), ("Caching", "Retry")]


def test_outcomes_for_key_given_keys_each_pair() -> None:
    outcomes = outcomes_for(NodeType.COMPUTE, ["Retry", "Caching"], False, reason="x", key="fb:1")
    assert [(o.mixin_a, o.mixin_b, o.outcome_key, o.conflict_reason) for o in outcomes] == [
        ("Caching", "Retry", "fb:1:Caching:Retry", "x")]


def _update(name: str, at: datetime, **counters: int | float | None) -> TemplateCacheUpdate:
    return TemplateCacheUpdate(
        template_name=name, template_type=TemplateType.NODE, cache_key=f"k-{at.isoformat()}",
        file_path=f"/t/{name}", file_hash="a" * 64, size_bytes=10, last_accessed_at=at,
        **counters,
    )


def test_merge_template_updates_same_template_sums_counters_and_keeps_latest() -> None:
    first = _update("node.j2", NOW, access_count=3, cache_hits=2, cache_misses=1, load_time_ms=4.0)
    later = _update("node.j2", NOW + timedelta(seconds=5), access_count=2, cache_hits=2)
    other = _update("init.j2", NOW, access_count=1, cache_misses=1, load_time_ms=1.0)
    merged = merge_template_updates([later, other, first])
    assert [m.template_name for m in merged] == ["node.j2", "init.j2"]
    node = merged[0]
    assert (node.access_count, node.cache_hits, node.cache_misses) == (5, 4, 1)
    assert node.cache_key == later.cache_key
    assert node.load_time_ms == 4.0  # the latest update had no load, so the earlier one counts


def test_event_metric_row_failure_without_error_type_raises() -> None:
    with pytest.raises(ValueError, match="error_type"):
        EventMetricRow("t:0:1", "request", "codegen", 1.0, False, NOW)


def test_event_metric_row_naive_timestamp_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventMetricRow("t:0:1", "request", "codegen", 1.0, True, datetime(2025, 1, 1))


def test_event_metric_row_long_error_message_is_truncated() -> None:
    row = EventMetricRow("t:0:1", "request", "codegen", 1.0, False, NOW,
                         error_type="Boom", error_message="x" * 5000)
    assert row.error_message is not None and len(row.error_message) == 4000


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_generation_metric_row_bad_duration_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="duration_ms"):
        GenerationMetricRow("r1", NodeType.EFFECT, GenerationPhase.TOTAL, bad, NOW)


def test_generation_metric_row_string_enums_are_coerced() -> None:
    row = GenerationMetricRow("r1", "effect", "code_gen", 1.0, NOW)  # type: ignore[arg-type]  # raw strings from JSON are accepted
    assert row.phase is GenerationPhase.CODE_GEN and row.node_type is NodeType.EFFECT


def test_pattern_feedback_key_without_explicit_key_is_stable_hash() -> None:
    row = PatternFeedbackRow(request_id="r1", pattern_name="CRUD", detected_confidence=0.8,
                             feedback_type=PatternFeedbackType.CORRECT)
    assert row.key() == row.model_copy().key()
    assert row.key().startswith("sha256:")
    assert row.model_copy(update={"feedback_key": "fb:0:7"}).key() == "fb:0:7"


def test_pattern_feedback_weight_by_source_is_one_or_half() -> None:
    base = PatternFeedbackRow(request_id="r1", pattern_name="CRUD", detected_confidence=0.8,
                              feedback_type=PatternFeedbackType.CORRECT)
    assert base.learning_weight == 1.0
    assert base.model_copy(update={"source": FeedbackSource.AUTOMATED}).learning_weight == 0.5


@pytest.mark.parametrize(("status", "count"), [("INSERT 0 42", 42), ("INSERT 0 0", 0)])
def test_inserted_count_command_tag_returns_rows(status: str, count: int) -> None:
    assert inserted_count(status) == count


def test_load_migrations_packaged_files_are_ordered_and_unique() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions))
    assert versions[0] == "0001"
