"""Per-call context and per-node configuration.

``NodeContext`` travels with one ``process`` call through every mixin and into
the node's operations, so per-call data (correlation id, effects performed,
orchestration steps, annotations such as content hashes) never has to live on
the node instance, which keeps stateless nodes stateless.

``NodeConfig`` holds every mixin's knobs in one frozen object: a node is built
from one config, and tests can build their own without touching globals.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onex_runtime.bus import InProcessEventBus
    from onex_runtime.connection import InMemoryConnection

NODE_TYPES: frozenset[str] = frozenset({"effect", "compute", "reducer", "orchestrator"})
"""The four ONEX node types, spelled as on the wire (``models.wire.NodeType`` values)."""


@dataclass(frozen=True, slots=True)
class EffectRecord:
    """One side effect an effect node reports having performed."""

    action: str
    target: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One orchestrator step: its name, whether it succeeded, and how long it took."""

    name: str
    ok: bool
    duration_ms: float
    error: str = ""


@dataclass(slots=True)
class NodeContext:
    """What one ``process`` call carries through the mixin pipeline."""

    correlation_id: str
    node: str
    operation: str
    started: float = field(default_factory=time.perf_counter)
    effects: list[EffectRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, node: str, operation: str, correlation_id: str | None) -> NodeContext:
        """A context with the caller's correlation id, or a fresh one when none was given."""
        cid = correlation_id or uuid.uuid4().hex
        return cls(correlation_id=cid, node=node, operation=operation)

    def record_effect(self, action: str, target: str, **detail: Any) -> None:
        """Note a side effect so callers and Audit can see what the call did."""
        self.effects.append(EffectRecord(action=action, target=target, detail=dict(detail)))

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Knobs of every mixin; defaults suit a unit test and a small service alike."""

    retry_attempts: int = 3
    retry_backoff_s: float = 0.01
    retry_backoff_max_s: float = 1.0
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
    timeout_s: float = 30.0
    rate_per_s: float = 100.0
    rate_burst: int = 20
    breaker_threshold: int = 5
    breaker_reset_s: float = 30.0
    cache_size: int = 256
    cache_ttl_s: float = 300.0
    log_capacity: int = 1000
    audit_capacity: int = 10_000
    redact_fields: frozenset[str] = frozenset(
        {"password", "secret", "token", "api_key", "authorization", "ssn", "credit_card"}
    )
    bus: InProcessEventBus | None = None
    connection_factory: Callable[[], InMemoryConnection] | None = None
    clock: Callable[[], float] = time.monotonic
