"""Mixins that observe a node without changing what it computes.

Their data is *telemetry* (declared as such), which stateless nodes allow:
counters and logs say how calls went, they never change a later result.
Mutable telemetry lives in container objects created at construction, so a
frozen (stateless) node can still update it without assigning attributes.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from onex_runtime.component import MixinBase
from onex_runtime.context import NodeContext

HealthStatus = Literal["healthy", "degraded", "unhealthy"]
LogFilter = Callable[[dict[str, Any]], dict[str, Any]]
_BUCKETS_MS = (1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0)


@dataclass(slots=True)
class OperationStats:
    """Calls, failures and a latency histogram for one operation."""

    calls: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(_BUCKETS_MS) + 1))

    def observe(self, ms: float, ok: bool) -> None:
        self.calls += 1
        self.failures += 0 if ok else 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)
        index = next((i for i, bound in enumerate(_BUCKETS_MS) if ms <= bound), len(_BUCKETS_MS))
        self.buckets[index] += 1


class MetricsMixin(MixinBase):
    """Counts calls, failures and latency per operation (``metrics_snapshot``)."""

    node_metrics: dict[str, OperationStats]

    def _component_setup(self) -> None:
        self.node_metrics = {}
        self.resources.declare("node_metrics", "telemetry", "Metrics")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        ok = False
        try:
            output = await super().handle(input_data, context)
            ok = True
            return output
        finally:
            stats = self.node_metrics.setdefault(context.operation or "default", OperationStats())
            stats.observe(context.elapsed_ms(), ok)

    def metrics_snapshot(self) -> dict[str, dict[str, Any]]:
        return {op: {"calls": s.calls, "failures": s.failures, "total_ms": s.total_ms,
                     "max_ms": s.max_ms, "buckets": list(s.buckets)}
                for op, s in sorted(self.node_metrics.items())}


@dataclass(slots=True)
class HealthTracker:
    consecutive_failures: int = 0
    last_error: str = ""
    last_success_at: float = 0.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: HealthStatus
    checks: dict[str, str]
    consecutive_failures: int
    last_error: str


class HealthCheckMixin(MixinBase):
    """Reports healthy/degraded/unhealthy from recent outcomes and other parts' checks.

    Any component may contribute a check by defining ``_component_health``
    returning ``(name, status, detail)``; CircuitBreaker and Connection do.
    """

    unhealthy_after: ClassVar[int] = 5
    health_tracker: HealthTracker

    def _component_setup(self) -> None:
        self.health_tracker = HealthTracker()
        self.resources.declare("health_tracker", "telemetry", "HealthCheck")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        tracker = self.health_tracker
        try:
            output = await super().handle(input_data, context)
        except Exception as exc:
            tracker.consecutive_failures += 1
            tracker.last_error = f"{type(exc).__name__}: {exc}"
            raise
        tracker.consecutive_failures = 0
        tracker.last_success_at = time.time()
        return output

    def health(self) -> HealthReport:
        tracker = self.health_tracker
        running = bool(getattr(self, "running", False))
        checks: dict[str, str] = {"lifecycle": "running" if running else "not running"}
        worst: HealthStatus = "healthy" if running else "unhealthy"
        if tracker.consecutive_failures >= self.unhealthy_after:
            worst = "unhealthy"
        elif tracker.consecutive_failures and worst == "healthy":
            worst = "degraded"
        rank = {"healthy": 0, "degraded": 1, "unhealthy": 2}
        for cls in type(self).__mro__:
            probe = cls.__dict__.get("_component_health")
            if probe is None:
                continue
            name, status, detail = probe(self)
            checks[name] = f"{status}: {detail}"
            if rank[status] > rank[worst]:
                worst = status
        return HealthReport(worst, checks, tracker.consecutive_failures, tracker.last_error)


class LogDataMixin(MixinBase):
    """Structured start/end/error records per call, kept in a ring and sent to ``logging``.

    Records pass through ``log_filters`` (SensitiveFieldRedaction adds one)
    before they are stored or emitted.
    """

    log_records: deque[dict[str, Any]]
    log_filters: list[LogFilter]

    def _component_setup(self) -> None:
        self.log_records = deque(maxlen=self.config.log_capacity)
        self.__dict__.setdefault("log_filters", [])
        self.resources.declare("log_records", "telemetry", "LogData")

    def log_event(self, event: str, context: NodeContext, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"event": event, "node": context.node,
                                  "operation": context.operation,
                                  "correlation_id": context.correlation_id, **fields}
        for log_filter in self.log_filters:
            record = log_filter(record)
        self.log_records.append(record)
        logger = logging.getLogger(f"onex.node.{context.node}")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s", record)
        return record

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        self.log_event("process.start", context, input=input_data.model_dump(mode="json"))
        try:
            output = await super().handle(input_data, context)
        except Exception as exc:
            self.log_event("process.error", context, error=f"{type(exc).__name__}: {exc}",
                           duration_ms=context.elapsed_ms())
            raise
        self.log_event("process.end", context, output=output.model_dump(mode="json"),
                       duration_ms=context.elapsed_ms())
        return output


class SensitiveFieldRedactionMixin(MixinBase):
    """Masks values of sensitive keys (password, token, ...) in everything LogData writes."""

    requires: ClassVar[tuple[str, ...]] = ("LogData",)
    mask: ClassVar[str] = "***"
    log_filters: list[LogFilter]

    def _component_setup(self) -> None:
        self.__dict__.setdefault("log_filters", []).append(self.redact)

    def _is_sensitive(self, key: str) -> bool:
        lowered = key.lower()
        return any(word in lowered for word in self.config.redact_fields)

    def redact(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with sensitive values masked, at any depth."""
        return {k: self.mask if self._is_sensitive(k) else self._redact_value(v)
                for k, v in data.items()}

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.redact(value)
        if isinstance(value, list | tuple):
            return [self._redact_value(v) for v in value]
        return value
