"""Resilience mixins: Retry, CircuitBreaker, Timeout, RateLimiter.

Retry yields to the event loop once before every attempt, so a deadline or a
cancellation lands between attempts rather than inside one; that suspension
is also what makes Retry and Synchronous incompatible. Timeout drives the
whole call under a deadline through the node's single ``ProcessRunner``.
CircuitBreaker and RateLimiter keep state between calls (declared as such).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from onex_runtime.component import MixinBase
from onex_runtime.context import NODE_TYPES, NodeContext
from onex_runtime.errors import CircuitOpenError, OperationTimeoutError, RateLimitedError

_STATEFUL_TYPES = NODE_TYPES - {"compute"}
_COMPUTE_REASON = "COMPUTE nodes are pure and stateless, and {name} keeps state between calls"


@dataclass(slots=True)
class RetryStats:
    attempts: int = 0
    retries: int = 0
    exhausted: int = 0


class RetryMixin(MixinBase):
    """Retries transient failures (``config.retry_on``) with jittered exponential backoff."""

    retry_stats: RetryStats

    def _component_setup(self) -> None:
        self.retry_stats = RetryStats()
        self.resources.declare("retry_stats", "telemetry", "Retry")

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), with jitter."""
        config = self.config
        base: float = min(config.retry_backoff_max_s, config.retry_backoff_s * 2.0 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        attempts = max(1, self.config.retry_attempts)
        for attempt in range(1, attempts + 1):
            await asyncio.sleep(0)  # checkpoint: cancellation lands between attempts
            self.retry_stats.attempts += 1
            try:
                return await super().handle(input_data, context)
            except self.config.retry_on:
                if attempt == attempts:
                    self.retry_stats.exhausted += 1
                    raise
                self.retry_stats.retries += 1
                await asyncio.sleep(self.backoff_delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")


@dataclass(slots=True)
class BreakerState:
    state: Literal["closed", "open", "half_open"] = "closed"
    failures: int = 0
    opened_at: float = 0.0


class CircuitBreakerMixin(MixinBase):
    """Stops calling after ``breaker_threshold`` consecutive failures until the reset time."""

    stateful: ClassVar[bool] = True
    node_types: ClassVar[frozenset[str]] = _STATEFUL_TYPES
    node_type_reason: ClassVar[str] = _COMPUTE_REASON.format(name="CircuitBreaker")
    breaker: BreakerState

    def _component_setup(self) -> None:
        self.breaker = BreakerState()
        self.resources.declare("breaker", "state", "CircuitBreaker")

    def _component_health(self) -> tuple[str, str, str]:
        status = {"closed": "healthy", "half_open": "degraded", "open": "unhealthy"}
        return "circuit", status[self.breaker.state], self.breaker.state

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        breaker, now = self.breaker, self.config.clock()
        if breaker.state == "open":
            remaining = self.config.breaker_reset_s - (now - breaker.opened_at)
            if remaining > 0:
                raise CircuitOpenError(f"circuit open after {breaker.failures} failures; "
                                       f"retry in {remaining:.1f}s")
            breaker.state = "half_open"
        try:
            output = await super().handle(input_data, context)
        except Exception:
            breaker.failures += 1
            if breaker.state == "half_open" or breaker.failures >= self.config.breaker_threshold:
                breaker.state, breaker.opened_at = "open", self.config.clock()
            raise
        breaker.state, breaker.failures = "closed", 0
        return output


class TimeoutMixin(MixinBase):
    """Fails a call that exceeds ``config.timeout_s`` with OperationTimeoutError."""

    def _component_setup(self) -> None:
        self.runner.install("Timeout", f"enforce a deadline of {self.config.timeout_s}s",
                            self._run_with_deadline)

    async def _run_with_deadline(self, call: Coroutine[Any, Any, BaseModel]) -> BaseModel:
        seconds = self.config.timeout_s
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await call
        except TimeoutError as exc:
            if deadline.expired():
                raise OperationTimeoutError(f"process timed out after {seconds}s") from exc
            raise


@dataclass(slots=True)
class TokenBucket:
    tokens: float
    updated: float


class RateLimiterMixin(MixinBase):
    """Token bucket (``rate_per_s``, ``rate_burst``); rejects rather than waits when empty."""

    stateful: ClassVar[bool] = True
    node_types: ClassVar[frozenset[str]] = _STATEFUL_TYPES
    node_type_reason: ClassVar[str] = _COMPUTE_REASON.format(name="RateLimiter")
    token_bucket: TokenBucket

    def _component_setup(self) -> None:
        self.token_bucket = TokenBucket(float(self.config.rate_burst), self.config.clock())
        self.resources.declare("token_bucket", "state", "RateLimiter")

    def try_acquire(self) -> float:
        """Take a token; returns 0.0 on success, else the seconds until one is available."""
        bucket, now = self.token_bucket, self.config.clock()
        rate, burst = self.config.rate_per_s, float(self.config.rate_burst)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate if rate > 0 else float("inf")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        wait = self.try_acquire()
        if wait > 0:
            raise RateLimitedError(f"rate limit of {self.config.rate_per_s}/s reached; "
                                   f"retry in {wait:.3f}s")
        return await super().handle(input_data, context)
