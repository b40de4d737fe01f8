"""Exponential backoff with full jitter, capped, for transient failures only.

Permanent failures (invalid input) never come here: they are dead-lettered at
once. What is retried is named by the caller as exception types.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    """``max_attempts=0`` retries until success (used where giving up would lose data)."""

    max_attempts: int = 5
    base_delay_s: float = 0.1
    max_delay_s: float = 10.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)


class RetriesExhausted(Exception):
    """The last attempt failed too; ``attempts`` says how many were made."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last}")
        self.attempts = attempts
        self.last = last


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    transient: tuple[type[BaseException], ...],
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> tuple[T, int]:
    """Await ``fn()`` until it succeeds; returns its value and the number of attempts made."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn(), attempt
        except transient as exc:
            if policy.max_attempts and attempt >= policy.max_attempts:
                raise RetriesExhausted(attempt, exc) from exc
            # An error may say how long a retry is pointless (``retry_after_s``).
            pause = max(policy.delay(attempt), float(getattr(exc, "retry_after_s", 0.0)))
            if on_retry is not None:
                on_retry(attempt, exc, pause)
            await asyncio.sleep(pause)
