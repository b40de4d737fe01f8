"""The five summary views and their time windows return the figures of the rows we wrote."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from statistics import fmean

import pytest

from onexgen.models.rows import (
    EventMetricRow,
    GenerationMetricRow,
    GenerationPhase,
    MixinOutcome,
    PatternFeedbackRow,
    TemplateCacheUpdate,
    TemplateType,
)
from onexgen.models.wire import FeedbackSource, NodeType, PatternFeedbackType
from onexgen.storage.pool import Database

pytestmark = pytest.mark.integration


def percentile_cont(values: list[float], fraction: float) -> float:
    """Postgres' percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_performance_metrics_summary_window_matches_inputs(
    db: Database, now: datetime,
) -> None:
    recent = [float((i * 37) % 101) + 0.5 for i in range(60)]
    old = [1000.0] * 10
    rows = [GenerationMetricRow(f"r{i}", NodeType.EFFECT, GenerationPhase.CODE_GEN, d, now,
                                memory_mb=float(i), cache_hit=i % 4 == 0)
            for i, d in enumerate(recent)]
    rows += [GenerationMetricRow(f"o{i}", NodeType.EFFECT, GenerationPhase.CODE_GEN, d,
                                 now - timedelta(days=2)) for i, d in enumerate(old)]
    rows.append(GenerationMetricRow("r0", NodeType.EFFECT, GenerationPhase.TOTAL, 9.0, now))
    await db.generation.write_many(rows)

    windowed = await db.views.performance_metrics_summary(since=now - timedelta(hours=1))
    assert [s.phase for s in windowed] == [GenerationPhase.CODE_GEN, GenerationPhase.TOTAL]
    code_gen = windowed[0]
    assert code_gen.sample_count == 60
    assert code_gen.avg_duration_ms == pytest.approx(fmean(recent))
    assert code_gen.p50_duration_ms == pytest.approx(percentile_cont(recent, 0.50))
    assert code_gen.p95_duration_ms == pytest.approx(percentile_cont(recent, 0.95))
    assert code_gen.p99_duration_ms == pytest.approx(percentile_cont(recent, 0.99))
    assert code_gen.max_duration_ms == max(recent)
    assert code_gen.cache_hit_rate == pytest.approx(15 / 60)
    assert code_gen.avg_memory_mb == pytest.approx(fmean(range(60)))

    everything = await db.views.performance_metrics_summary()
    assert everything[0].sample_count == 70
    assert everything[0].p99_duration_ms == pytest.approx(percentile_cont(recent + old, 0.99))
    until_old = await db.views.performance_metrics_summary(until=now - timedelta(days=1))
    assert [(s.sample_count, s.avg_duration_ms) for s in until_old] == [(10, 1000.0)]
    plain = await db.pool.fetch("SELECT * FROM performance_metrics_summary ORDER BY phase")
    assert [r["sample_count"] for r in plain] == [70, 1]


async def test_event_processing_health_window_matches_inputs(db: Database, now: datetime) -> None:
    durations = [float(i) for i in range(1, 41)]
    rows = [EventMetricRow(f"t:0:{i}", "request", "codegen", d, i % 8 != 0, now,
                           queue_wait_time_ms=2.0, error_type=None if i % 8 else "Timeout",
                           retry_count=1 if i % 8 == 0 else 0, batch_size=1 + i % 3)
            for i, d in enumerate(durations)]
    rows += [EventMetricRow(f"f:0:{i}", "feedback", "learning", 5.0, True,
                            now - timedelta(days=3)) for i in range(5)]
    await db.events.write_many(rows)

    health = await db.views.event_processing_health(since=now - timedelta(minutes=5))
    assert len(health) == 1
    req = health[0]
    failures = sum(1 for i in range(40) if i % 8 == 0)
    assert (req.event_type, req.event_source) == ("request", "codegen")
    assert (req.total_events, req.successes, req.failures) == (40, 40 - failures, failures)
    assert req.success_rate == pytest.approx((40 - failures) / 40)
    assert req.avg_duration_ms == pytest.approx(fmean(durations))
    assert req.p95_duration_ms == pytest.approx(percentile_cont(durations, 0.95))
    assert req.avg_queue_wait_ms == 2.0
    assert req.total_retries == failures
    assert req.avg_batch_size == pytest.approx(fmean(1 + i % 3 for i in range(40)))
    assert req.last_event_at == now
    assert len(await db.views.event_processing_health()) == 2


async def test_mixin_compatibility_summary_window_matches_inputs(
    db: Database, now: datetime,
) -> None:
    outcomes = [
        MixinOutcome(mixin_a="Retry", mixin_b="Caching", node_type=NodeType.EFFECT,
                     success=True, tested_at=now),
        MixinOutcome(mixin_a="Caching", mixin_b="Retry", node_type=NodeType.EFFECT,
                     success=False, conflict_reason="x", tested_at=now),
        MixinOutcome(mixin_a="Metrics", mixin_b="Audit", node_type=NodeType.EFFECT,
                     success=True, tested_at=now),
        MixinOutcome(mixin_a="Caching", mixin_b="Audit", node_type=NodeType.COMPUTE,
                     success=False, tested_at=now - timedelta(days=10)),
    ]
    await db.mixins.record_many(outcomes)
    summary = await db.views.mixin_compatibility_summary(since=now - timedelta(days=1))
    assert len(summary) == 1
    effect = summary[0]
    assert (effect.node_type, effect.combinations) == (NodeType.EFFECT, 2)
    assert effect.avg_compatibility_score == pytest.approx((0.5 + 1.0) / 2)
    assert (effect.total_successes, effect.total_failures) == (2, 1)
    assert effect.success_rate == pytest.approx(2 / 3)
    everything = await db.views.mixin_compatibility_summary()
    assert [(s.node_type, s.success_rate) for s in everything] == [
        (NodeType.COMPUTE, 0.0), (NodeType.EFFECT, pytest.approx(2 / 3))]


async def test_pattern_feedback_analysis_window_matches_inputs(
    db: Database, now: datetime,
) -> None:
    plan = [(PatternFeedbackType.CORRECT, FeedbackSource.USER, 0.9),
            (PatternFeedbackType.CORRECT, FeedbackSource.AUTOMATED, 0.7),
            (PatternFeedbackType.CORRECT, FeedbackSource.AUTOMATED, 0.8),
            (PatternFeedbackType.INCORRECT, FeedbackSource.USER, 0.72)]
    rows = [PatternFeedbackRow(request_id=f"r{i}", pattern_name="CRUD", detected_confidence=c,
                               feedback_type=t, source=s, created_at=now, feedback_key=f"k{i}")
            for i, (t, s, c) in enumerate(plan)]
    rows.append(PatternFeedbackRow(request_id="old", pattern_name="CRUD", detected_confidence=0.1,
                                   feedback_type=PatternFeedbackType.PARTIAL,
                                   created_at=now - timedelta(days=40), feedback_key="old"))
    await db.feedback.write_many(rows)
    analysis = await db.views.pattern_feedback_analysis(since=now - timedelta(days=1))
    assert [(a.feedback_type, a.feedback_count) for a in analysis] == [
        (PatternFeedbackType.CORRECT, 3), (PatternFeedbackType.INCORRECT, 1)]
    correct = analysis[0]
    assert correct.avg_detected_confidence == pytest.approx(0.8)
    assert correct.total_learning_weight == pytest.approx(2.0)
    assert (correct.user_count, correct.automated_count) == (1, 2)
    assert correct.share_of_pattern == pytest.approx(3 / 4)
    assert len(await db.views.pattern_feedback_analysis()) == 3


async def test_template_cache_efficiency_window_matches_inputs(
    db: Database, now: datetime,
) -> None:
    def update(name: str, kind: TemplateType, at: datetime, hits: int, misses: int,
               size: int, load: float) -> TemplateCacheUpdate:
        return TemplateCacheUpdate(
            template_name=name, template_type=kind, cache_key=name, file_path=name,
            file_hash="f" * 64, size_bytes=size, last_accessed_at=at, load_time_ms=load,
            access_count=hits + misses, cache_hits=hits, cache_misses=misses)

    await db.templates.write_many([
        update("effect.j2", TemplateType.NODE, now, 90, 10, 1000, 3.0),
        update("compute.j2", TemplateType.NODE, now, 30, 20, 3000, 5.0),
        update("contract.j2", TemplateType.CONTRACT, now - timedelta(days=5), 1, 1, 10, 1.0),
    ])
    [node] = await db.views.template_cache_efficiency(since=now - timedelta(hours=1))
    assert (node.template_type, node.template_count) == (TemplateType.NODE, 2)
    assert (node.total_hits, node.total_misses, node.total_accesses) == (120, 30, 150)
    assert node.hit_rate == pytest.approx(120 / 150)
    assert node.avg_load_time_ms == pytest.approx(4.0)
    assert (node.total_size_bytes, node.avg_size_bytes) == (4000, 2000.0)
    assert len(await db.views.template_cache_efficiency()) == 2


async def test_views_naive_bound_raises_value_error(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await db.views.event_processing_health(since=datetime(2025, 1, 1))
