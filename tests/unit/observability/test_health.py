"""Readiness from the health checks: a hung check is cut off, and fails only when it stays hung."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from onexgen.observability.health import HealthChecker
from tests.unit.observability.conftest import ReadLines


async def _hangs() -> dict[str, Any]:
    await asyncio.sleep(10)
    return {}


async def _fine() -> dict[str, Any]:
    return {"answer": 42}


async def _raises() -> dict[str, Any]:
    raise ConnectionRefusedError("connection refused by db.internal:5432")


def _checker(timeouts_to_fail: int = 3) -> tuple[HealthChecker, dict[str, bool]]:
    """A checker whose "db" check hangs while ``state["hung"]`` is true."""
    state = {"hung": True}

    async def db() -> dict[str, Any]:
        return await (_hangs() if state["hung"] else _fine())

    checker = HealthChecker(budget_s=0.05, timeouts_to_fail=timeouts_to_fail)
    checker.add("db", db, timeout_s=1.0)
    checker.add("fast", _fine)
    return checker, state


async def test_run_hung_check_cut_off_within_budget_and_degraded_first() -> None:
    checker, _ = _checker()
    started = time.perf_counter()
    report = await checker.run()
    assert time.perf_counter() - started < 0.5
    assert report.ready and report.status == "degraded"
    checks = report.as_dict()["checks"]
    assert checks["db"]["status"] == "degraded"
    assert checks["db"]["error"].startswith("no answer within 50 ms, 1 time(s) in a row")
    assert checks["fast"]["answer"] == 42


async def test_run_hung_check_timed_out_three_times_in_a_row_makes_worker_unready() -> None:
    checker, _ = _checker()
    reports = [await checker.run() for _ in range(3)]
    assert [r.ready for r in reports] == [True, True, False]
    assert reports[-1].status == "failed"
    assert reports[-1].as_dict()["checks"]["db"]["error"].endswith("3 time(s) in a row")


async def test_run_check_answering_between_timeouts_resets_the_count() -> None:
    checker, state = _checker(timeouts_to_fail=2)
    first = await checker.run()
    state["hung"] = False
    answered = await checker.run()
    state["hung"] = True
    late_again = await checker.run()
    still_hung = await checker.run()
    assert first.ready and answered.status == "ok" and late_again.ready
    assert not still_hung.ready


async def test_run_timeouts_to_fail_one_fails_on_the_first_timeout() -> None:
    checker, _ = _checker(timeouts_to_fail=1)
    report = await checker.run()
    assert not report.ready and report.as_dict()["checks"]["db"]["status"] == "failed"


async def test_run_check_raising_fails_at_once_without_its_text_served() -> None:
    checker = HealthChecker(budget_s=0.05)
    checker.add("postgres", _raises)
    report = await checker.run()
    assert not report.ready
    served = report.as_dict()["checks"]["postgres"]
    assert served["error"] == "ConnectionRefusedError (see the worker log)"
    assert "db.internal" not in str(report.as_dict())


async def test_run_non_critical_check_hung_never_makes_worker_unready() -> None:
    checker = HealthChecker(budget_s=0.05, timeouts_to_fail=1)
    checker.add("models", _hangs, critical=False)
    report = await checker.run()
    assert report.ready and report.status == "degraded"
    assert report.as_dict()["checks"]["models"]["status"] == "failed"


async def test_run_timeout_logged_when_late_and_when_failed_only(log_lines: ReadLines) -> None:
    checker, _ = _checker(timeouts_to_fail=3)
    for _ in range(5):
        await checker.run()
    lines = [line for line in log_lines() if line["event"] == "health_check_timeout"]
    assert [(line["in_a_row"], line["failed"]) for line in lines] == [(1, False), (3, True)]
    assert all(line["check"] == "db" and line["timeout_ms"] == 50 for line in lines)


def test_init_timeouts_to_fail_below_one_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match="timeouts_to_fail must be at least 1, not 0"):
        HealthChecker(timeouts_to_fail=0)
