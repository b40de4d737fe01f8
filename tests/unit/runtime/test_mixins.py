"""Each mixin really does what it says, and per-type node contracts hold."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from onex_runtime import (
    CircuitOpenError,
    CompositionError,
    InProcessEventBus,
    NodeConfig,
    NodeContext,
    NodeStateError,
    OperationTimeoutError,
    RateLimitedError,
    StatelessViolation,
)
from onex_runtime.bus import Event
from onex_runtime.component import NodeMeta
from onex_runtime.probe import ProbeInput, ProbeOutput
from onex_runtime.probe import compose_node as _compose


def compose_node(node_type: str, mixins: list[str]) -> Any:
    """The probe node class, typed loosely: tests reach mixin attributes on it."""
    return _compose(node_type, mixins)


def derive(base: Any, name: str, namespace: dict[str, Any]) -> Any:
    return NodeMeta(name, (base,), namespace)

FAST = NodeConfig(retry_backoff_s=0.0, retry_backoff_max_s=0.0, breaker_threshold=2,
                  breaker_reset_s=60.0, rate_per_s=0.0, rate_burst=2, timeout_s=0.05)


def _flaky(node_type: str, mixins: list[str], failures: int, exc: Exception) -> Any:
    """A probe node whose operation fails ``failures`` times, then succeeds."""
    base = compose_node(node_type, mixins)
    calls = {"n": 0}

    async def execute_effect(self: Any, input_data: ProbeInput, context: NodeContext) -> Any:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc
        context.record_effect("write", "db")
        return ProbeOutput(operation=input_data.operation, success=True,
                           correlation_id=context.correlation_id)

    return derive(base, "Flaky", {"execute_effect": execute_effect}), calls


async def test_process_before_start_raises_node_state_error() -> None:
    node = compose_node("effect", [])()
    with pytest.raises(NodeStateError, match="start"):
        await node.process(ProbeInput())


async def test_retry_transient_failures_succeeds_after_backoff() -> None:
    cls, calls = _flaky("effect", ["Retry"], 2, ConnectionError("down"))
    async with cls(FAST) as node:
        out = await node.process(ProbeInput())
    assert out.success and calls["n"] == 3 and node.retry_stats.retries == 2


async def test_circuit_breaker_repeated_failures_opens_and_rejects() -> None:
    cls, calls = _flaky("effect", ["CircuitBreaker"], 10, ValueError("bad"))
    async with cls(FAST) as node:
        for _ in range(2):
            with pytest.raises(ValueError):
                await node.process(ProbeInput())
        with pytest.raises(CircuitOpenError):
            await node.process(ProbeInput())
    assert calls["n"] == 2 and node.breaker.state == "open"


async def test_rate_limiter_empty_bucket_rejects_call() -> None:
    async with compose_node("effect", ["RateLimiter"])(FAST) as node:
        await node.process(ProbeInput())
        await node.process(ProbeInput())
        with pytest.raises(RateLimitedError):
            await node.process(ProbeInput())


async def test_caching_same_input_returns_cached_output() -> None:
    cls, calls = _flaky("effect", ["Caching"], 0, ValueError())
    async with cls() as node:
        first = await node.process(ProbeInput(payload={"a": 1}))
        second = await node.process(ProbeInput(payload={"a": 1}))
    assert first is second and calls["n"] == 1 and node.cache_stats.hits == 1


async def test_audit_calls_recorded_in_verifiable_hash_chain() -> None:
    async with compose_node("reducer", ["Audit"])() as node:
        for _ in range(3):
            await node.process(ProbeInput())
    assert [e.seq for e in node.audit_trail] == [1, 2, 3] and node.verify_audit_trail()
    node.audit_trail[1] = dataclasses.replace(node.audit_trail[1], outcome="forged")
    assert not node.verify_audit_trail()


async def test_redaction_sensitive_payload_masked_in_logs() -> None:
    async with compose_node("effect", ["SensitiveFieldRedaction", "LogData"])() as node:
        await node.process(ProbeInput(payload={"user": "ann", "password": "hunter2"}))
    start = node.log_records[0]
    assert start["input"]["payload"] == {"user": "ann", "password": "***"}


async def test_transaction_failed_call_rolls_back_writes() -> None:
    base = compose_node("effect", ["Transaction"])

    async def execute_effect(self: Any, input_data: ProbeInput, context: NodeContext) -> Any:
        await self.connection.put("t", "k", input_data.payload)
        if input_data.payload.get("fail"):
            raise RuntimeError("abort")
        return ProbeOutput(operation="x", success=True, correlation_id=context.correlation_id)

    cls = derive(base, "Tx", {"execute_effect": execute_effect})
    async with cls() as node:
        await node.process(ProbeInput(payload={"v": 1}))
        with pytest.raises(RuntimeError):
            await node.process(ProbeInput(payload={"v": 2, "fail": True}))
        assert await node.connection.get("t", "k") == {"v": 1}
    assert node.connection.rollbacks == 1


async def test_reducer_failed_reduction_leaves_state_unchanged() -> None:
    node_cls = compose_node("reducer", [])
    async with node_cls() as node:
        await node.process(ProbeInput())
        before = node.snapshot()
        original = node.execute_reduction

        async def failing(input_data: Any, state: dict[str, Any], context: Any) -> Any:
            await original(input_data, state, context)
            raise ValueError("late failure")

        node.__dict__["execute_reduction"] = failing
        with pytest.raises(ValueError):
            await node.process(ProbeInput())
    assert node.snapshot() == before == {"count": 1}


async def test_compute_node_assigning_attribute_raises_stateless_violation() -> None:
    base = compose_node("compute", [])

    async def execute_compute(self: Any, input_data: ProbeInput, context: NodeContext) -> Any:
        self.last = input_data
        raise AssertionError("unreachable")

    async with derive(base, "Leaky", {"execute_compute": execute_compute})() as node:
        with pytest.raises(StatelessViolation, match="'last'"):
            await node.process(ProbeInput())


def test_synchronous_process_sync_runs_without_event_loop() -> None:
    node = compose_node("compute", ["Synchronous", "Metrics"])()
    node._running = True  # a Synchronous node has no async start work to do
    out = node.process_sync(ProbeInput(payload={"b": 1, "a": 2}), "cid")
    assert out.result == {"keys": ["a", "b"]} and out.correlation_id == "cid"


async def test_synchronous_with_retry_fails_at_process_naming_both() -> None:
    async with compose_node("effect", ["Metrics", "Synchronous", "Retry"])() as node:
        with pytest.raises(CompositionError, match="Retry suspends") as info:
            await node.process(ProbeInput())
    assert set(info.value.mixins) == {"Synchronous", "Retry"}


async def test_timeout_slow_call_raises_operation_timeout() -> None:
    base = compose_node("effect", ["Timeout"])

    async def execute_effect(self: Any, input_data: ProbeInput, context: NodeContext) -> Any:
        await asyncio.sleep(1)

    async with derive(base, "Slow", {"execute_effect": execute_effect})(FAST) as node:
        with pytest.raises(OperationTimeoutError, match=r"after 0\.05s"):
            await node.process(ProbeInput())


async def test_event_driven_node_requested_event_runs_process_and_publishes() -> None:
    bus = InProcessEventBus()
    mixins = ["EventDrivenNode", "EventHandler", "NodeLifecycle", "EventBus"]
    node = compose_node("effect", mixins)(NodeConfig(bus=bus))
    seen: list[Event] = []

    async def collect(event: Event) -> None:
        seen.append(event)

    bus.subscribe("Probe.*.completed", collect)
    await node.start()
    assert await bus.publish(Event("Probe.requested", {"operation": "probe"}, "c1")) == 1
    await node.stop()
    assert [e.topic for e in seen] == ["Probe.probe.completed"] and seen[0].correlation_id == "c1"
    assert bus.subscribers("Probe.requested") == [] and node.lifecycle_state == "stopped"


async def test_health_check_reports_open_circuit_unhealthy() -> None:
    cls, _ = _flaky("effect", ["HealthCheck", "CircuitBreaker"], 10, ValueError())
    async with cls(FAST) as node:
        assert node.health().status == "healthy"
        for _ in range(2):
            with pytest.raises(ValueError):
                await node.process(ProbeInput())
        report = node.health()
    assert report.status == "unhealthy" and report.checks["circuit"].startswith("unhealthy")
