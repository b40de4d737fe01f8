"""Readers for the five summary views, each over an optional ``[since, until)`` window.

They call the ``<view>_window`` SQL functions; with no bounds that is the
plain view. The monitor's alert rules and the dashboard read these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel

from onexgen.models.rows import (
    EventProcessingHealth,
    MixinCompatibilitySummary,
    PatternFeedbackAnalysis,
    PerformanceMetricsSummary,
    TemplateCacheEfficiency,
)
from onexgen.storage.errors import translated

M = TypeVar("M", bound=BaseModel)

_ORDER = {
    "mixin_compatibility_summary": "node_type",
    "pattern_feedback_analysis": "pattern_name, feedback_type",
    "performance_metrics_summary": "phase",
    "template_cache_efficiency": "template_type",
    "event_processing_health": "event_type, event_source",
}


class ViewsRepository:
    """Typed access to the summary views; ``since``/``until`` must be timezone-aware."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool

    async def _window(self, view: str, model: type[M], since: datetime | None,
                      until: datetime | None) -> list[M]:
        for bound in (since, until):
            if bound is not None and bound.tzinfo is None:
                raise ValueError(f"{view}: since/until must be timezone-aware, got {bound}")
        query = (
            f"SELECT * FROM {view}_window("  # noqa: S608 - view names come from _ORDER, not input
            "coalesce($1::timestamptz, '-infinity'), coalesce($2::timestamptz, 'infinity')) "
            f"ORDER BY {_ORDER[view]}"
        )
        with translated(f"reading {view}"):
            records = await self._pool.fetch(query, since, until)
        return [model.model_validate(dict(r)) for r in records]

    async def mixin_compatibility_summary(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[MixinCompatibilitySummary]:
        """Per node type: pairs, average score, successes, failures, success rate."""
        return await self._window("mixin_compatibility_summary", MixinCompatibilitySummary,
                                  since, until)

    async def pattern_feedback_analysis(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[PatternFeedbackAnalysis]:
        """Per pattern and feedback type: counts, confidence, weight, share of the pattern."""
        return await self._window("pattern_feedback_analysis", PatternFeedbackAnalysis,
                                  since, until)

    async def performance_metrics_summary(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[PerformanceMetricsSummary]:
        """Per phase: count, average, p50/p95/p99 (percentile_cont), max, cache hit rate."""
        return await self._window("performance_metrics_summary", PerformanceMetricsSummary,
                                  since, until)

    async def template_cache_efficiency(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[TemplateCacheEfficiency]:
        """Per template type: hit rate, load time, size (window on last access)."""
        return await self._window("template_cache_efficiency", TemplateCacheEfficiency,
                                  since, until)

    async def event_processing_health(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[EventProcessingHealth]:
        """Per event type and source: totals, success rate, duration (avg, p95), wait, retries."""
        return await self._window("event_processing_health", EventProcessingHealth,
                                  since, until)
