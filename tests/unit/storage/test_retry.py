"""Bounded connect retries: transient failures are retried, refusals are not."""

from __future__ import annotations

import asyncpg
import pytest

from onexgen.storage.errors import ConnectionRejected, DatabaseUnavailable
from onexgen.storage.pool import with_retry

DSN = "postgresql://onexgen:secret@127.0.0.1:1/onexgen"


class Flaky:
    """Fails with ``error`` for the first ``failures`` calls, then returns ``"ok"``."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


async def test_with_retry_transient_failures_then_success_returns_result() -> None:
    attempt = Flaky(2, ConnectionRefusedError(111, "refused"))
    assert await with_retry(attempt, dsn=DSN, attempts=3, backoff_s=0.001) == "ok"
    assert attempt.calls == 3


async def test_with_retry_failures_past_budget_raise_database_unavailable() -> None:
    attempt = Flaky(5, asyncpg.TooManyConnectionsError("too many clients"))
    with pytest.raises(DatabaseUnavailable, match="gave up after 3 attempts") as info:
        await with_retry(attempt, dsn=DSN, attempts=3, backoff_s=0.001)
    assert attempt.calls == 3
    assert isinstance(info.value.__cause__, asyncpg.TooManyConnectionsError)
    assert "secret" not in str(info.value)


async def test_with_retry_login_refused_raises_at_once_without_retry() -> None:
    attempt = Flaky(5, asyncpg.InvalidPasswordError("password authentication failed"))
    with pytest.raises(ConnectionRejected):
        await with_retry(attempt, dsn=DSN, attempts=5, backoff_s=0.001)
    assert attempt.calls == 1


async def test_with_retry_zero_attempts_raises_value_error() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await with_retry(Flaky(0, OSError()), dsn=DSN, attempts=0, backoff_s=0.001)
