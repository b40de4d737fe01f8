"""Retries: backoff with full jitter, and an error's own floor (``retry_after_s``)."""

from __future__ import annotations

import pytest

from onexgen.streams.errors import PublishError, PublishRefused
from onexgen.streams.retry import RetriesExhausted, RetryPolicy, retry


async def _failing_then_ok(errors: list[Exception]) -> tuple[str, int, list[float]]:
    pauses: list[float] = []

    async def attempt() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    value, attempts = await retry(attempt, policy=RetryPolicy(base_delay_s=0.001),
                                  transient=(PublishError,),
                                  on_retry=lambda _n, _exc, pause: pauses.append(pause))
    return value, attempts, pauses


async def test_retry_refused_publish_waits_at_least_its_retry_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("onexgen.streams.retry.asyncio.sleep", sleep)
    value, attempts, pauses = await _failing_then_ok([PublishRefused("no ACL"),
                                                      PublishError("broker away")])
    assert (value, attempts) == ("ok", 3)
    assert pauses[0] == PublishRefused.retry_after_s == slept[0]
    assert pauses[1] < 0.01  # a plain failure keeps the policy's short backoff


async def test_retry_exhausted_raises_with_attempts_and_last_error() -> None:
    async def attempt() -> None:
        raise PublishError("down")

    with pytest.raises(RetriesExhausted) as caught:
        await retry(attempt, policy=RetryPolicy(max_attempts=2, base_delay_s=0.001),
                    transient=(PublishError,))
    assert caught.value.attempts == 2 and str(caught.value.last) == "down"
