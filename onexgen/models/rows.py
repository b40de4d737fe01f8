"""Rows the storage layer writes and reads: table rows and view rows.

The two metric rows are written by the thousand per second, so they are frozen
slotted dataclasses with cheap checks in ``__post_init__`` that mirror the
table CHECK constraints: a bad value fails where it is made, not later as a
batch-wide ConstraintViolation. Everything else is a frozen pydantic model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from onexgen.models.wire import FeedbackSource, NodeType, PatternFeedbackType

ERROR_MESSAGE_MAX = 4000


class GenerationPhase(StrEnum):
    ANALYSIS = "analysis"
    TEMPLATE_LOAD = "template_load"
    CODE_GEN = "code_gen"
    VALIDATION = "validation"
    PERSISTENCE = "persistence"
    TOTAL = "total"


class TemplateType(StrEnum):
    NODE = "node"
    CONTRACT = "contract"
    SUBCONTRACT = "subcontract"
    MIXIN = "mixin"
    TEST = "test"
    MODEL = "model"
    README = "readme"
    INIT = "init"


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (use the Kafka timestamp in UTC)")


def _require_non_negative(value: float | None, name: str) -> None:
    if value is not None and not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class EventMetricRow:
    """One processed Kafka event. ``(event_key, created_at)`` is its idempotency key.

    ``event_key`` is ``topic:partition:offset`` and ``created_at`` the message
    timestamp, so re-processing the same message writes the same key.
    """

    event_key: str
    event_type: str
    event_source: str
    processing_duration_ms: float
    success: bool
    created_at: datetime
    queue_wait_time_ms: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    retry_count: int = 0
    batch_size: int = 1

    def __post_init__(self) -> None:
        if not self.event_key or not self.event_type or not self.event_source:
            raise ValueError("event_key, event_type and event_source must be non-empty")
        _require_non_negative(self.processing_duration_ms, "processing_duration_ms")
        _require_non_negative(self.queue_wait_time_ms, "queue_wait_time_ms")
        if self.retry_count < 0 or self.batch_size < 1:
            raise ValueError(f"retry_count must be >= 0 and batch_size >= 1, got "
                             f"{self.retry_count}, {self.batch_size}")
        if not self.success and not self.error_type:
            raise ValueError("a failed event needs an error_type")
        _require_aware(self.created_at, "created_at")
        if self.error_message is not None and len(self.error_message) > ERROR_MESSAGE_MAX:
            object.__setattr__(self, "error_message", self.error_message[:ERROR_MESSAGE_MAX])

    def as_record(self) -> tuple[Any, ...]:
        """Values in ``EVENT_COLUMNS`` order, for COPY."""
        return (self.event_key, self.event_type, self.event_source, self.processing_duration_ms,
                self.queue_wait_time_ms, self.success, self.error_type, self.error_message,
                self.retry_count, self.batch_size, self.created_at)


EVENT_COLUMNS = ("event_key", "event_type", "event_source", "processing_duration_ms",
                 "queue_wait_time_ms", "success", "error_type", "error_message",
                 "retry_count", "batch_size", "created_at")


@dataclass(frozen=True, slots=True)
class GenerationMetricRow:
    """One phase of one request. ``(request_id, phase, created_at)`` is its idempotency key.

    ``created_at`` should be the request message's timestamp, not the wall clock.
    """

    request_id: str
    node_type: NodeType
    phase: GenerationPhase
    duration_ms: float
    created_at: datetime
    memory_mb: float | None = None
    cpu_percent: float | None = None
    cache_hit: bool = False
    parallel_execution: bool = False
    worker_count: int = 1
    metadata: dict[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.request_id:
            raise ValueError("request_id must be non-empty")
        object.__setattr__(self, "node_type", NodeType(self.node_type))
        object.__setattr__(self, "phase", GenerationPhase(self.phase))
        _require_non_negative(self.duration_ms, "duration_ms")
        _require_non_negative(self.memory_mb, "memory_mb")
        _require_non_negative(self.cpu_percent, "cpu_percent")
        if self.worker_count < 1:
            raise ValueError(f"worker_count must be >= 1, got {self.worker_count}")
        _require_aware(self.created_at, "created_at")

    def as_record(self) -> tuple[Any, ...]:
        """Values in ``GENERATION_COLUMNS`` order, for COPY."""
        return (self.request_id, self.node_type.value, self.phase.value, self.duration_ms,
                self.memory_mb, self.cpu_percent, self.cache_hit, self.parallel_execution,
                self.worker_count, self.metadata, self.created_at)


GENERATION_COLUMNS = ("request_id", "node_type", "phase", "duration_ms", "memory_mb",
                      "cpu_percent", "cache_hit", "parallel_execution", "worker_count",
                      "metadata", "created_at")


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)


class TemplateCacheUpdate(_Row):
    """Cache activity of one template since the last flush; counters are deltas to add."""

    template_name: str = Field(min_length=1, max_length=256)
    template_type: TemplateType
    cache_key: str
    file_path: str
    file_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    last_accessed_at: datetime
    load_time_ms: float | None = Field(None, ge=0, description="last uncached load; None if none")
    access_count: int = Field(0, ge=0)
    cache_hits: int = Field(0, ge=0)
    cache_misses: int = Field(0, ge=0)


class TemplateCacheRow(TemplateCacheUpdate):
    """A ``template_cache_metadata`` row as stored (counters are totals)."""

    id: int
    created_at: datetime
    updated_at: datetime


class PatternFeedbackRow(_Row):
    """One pattern feedback event; ``key()`` is what makes a replay insert nothing."""

    request_id: str = Field(min_length=1, max_length=128)
    pattern_name: str = Field(min_length=1, max_length=64)
    detected_confidence: float = Field(ge=0, le=1)
    feedback_type: PatternFeedbackType
    source: FeedbackSource = FeedbackSource.USER
    actual_pattern: str | None = Field(None, max_length=64)
    contract_json: dict[str, Any] | None = None
    capabilities_matched: list[str] = Field(default_factory=list)
    false_positives: list[str] = Field(default_factory=list)
    false_negatives: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    feedback_key: str | None = Field(None, min_length=1, max_length=256,
                                     description="e.g. topic:partition:offset of the event")

    def key(self) -> str:
        """``feedback_key`` if given, else a hash of what the feedback says."""
        if self.feedback_key:
            return self.feedback_key
        parts = (self.request_id, self.pattern_name, self.feedback_type.value,
                 self.source.value, self.actual_pattern or "")
        return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    @property
    def learning_weight(self) -> float:
        return 1.0 if self.source is FeedbackSource.USER else 0.5


class MixinOutcome(_Row):
    """One tested outcome of a mixin pair; ``outcome_key`` makes a replay count once."""

    mixin_a: str = Field(min_length=1, max_length=128)
    mixin_b: str = Field(min_length=1, max_length=128)
    node_type: NodeType
    success: bool
    conflict_reason: str | None = None
    resolution_pattern: str | None = None
    outcome_key: str | None = None
    tested_at: datetime | None = None


class MixinCompatibilityRow(_Row):
    id: int
    mixin_a: str
    mixin_b: str
    node_type: NodeType
    compatibility_score: float
    success_count: int
    failure_count: int
    last_tested_at: datetime | None
    conflict_reason: str | None
    resolution_pattern: str | None
    created_at: datetime
    updated_at: datetime


class MixinCompatibilitySummary(_Row):
    node_type: NodeType
    combinations: int
    avg_compatibility_score: float
    total_successes: int
    total_failures: int
    success_rate: float | None
    last_tested_at: datetime | None


class PatternFeedbackAnalysis(_Row):
    pattern_name: str
    feedback_type: PatternFeedbackType
    feedback_count: int
    avg_detected_confidence: float
    total_learning_weight: float
    user_count: int
    automated_count: int
    share_of_pattern: float
    first_at: datetime
    last_at: datetime


class PerformanceMetricsSummary(_Row):
    phase: GenerationPhase
    sample_count: int
    avg_duration_ms: float
    p50_duration_ms: float
    p95_duration_ms: float
    p99_duration_ms: float
    max_duration_ms: float
    cache_hit_rate: float
    parallel_rate: float
    avg_memory_mb: float | None
    avg_cpu_percent: float | None


class TemplateCacheEfficiency(_Row):
    template_type: TemplateType
    template_count: int
    total_accesses: int
    total_hits: int
    total_misses: int
    hit_rate: float | None
    avg_load_time_ms: float | None
    total_size_bytes: int
    avg_size_bytes: float


class EventProcessingHealth(_Row):
    event_type: str
    event_source: str
    total_events: int
    successes: int
    failures: int
    success_rate: float
    avg_duration_ms: float
    p95_duration_ms: float
    avg_queue_wait_ms: float | None
    total_retries: int
    avg_batch_size: float
    last_event_at: datetime
