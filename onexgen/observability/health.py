"""Health checks of a worker: each dependency probed concurrently, each under its own timeout.

``/health`` answers "is anything wrong, and what?" and ``/ready`` "should this
worker get traffic?"; both run the same checks. A check is an async callable
returning details (a dict) or raising; it may return ``{"status": "degraded"}``
to say "works, but look". Checks run concurrently, each cut off at its
``timeout_s`` and all at ``budget_s`` (100 ms by default), so a hung database
makes ``/health`` say so quickly instead of hanging the prober. A failed
*critical* check makes the worker unready; a failed non-critical one only
degrades the report. A check that raises has failed at once; one that only
misses its timeout is degraded until it has missed it ``timeouts_to_fail``
times in a row (3 by default), so a busy worker answering one probe late is
not taken out of traffic, while a hung dependency still is, a few probes later.
The first missed timeout and the one that fails it are logged
(``health_check_timeout``).

The factories below build the checks a worker needs: Kafka metadata, a
Postgres round trip, the template engine, the process pool, model figures
and agent liveness (progress per partition against its lag).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

__all__ = [
    "CheckResult",
    "HealthCheck",
    "HealthChecker",
    "HealthReport",
    "figures_check",
    "liveness_check",
    "pool_check",
    "postgres_check",
    "refusal_check",
]

CheckFn = Callable[[], Awaitable[dict[str, Any]]]
Offsets = Mapping[tuple[str, int], tuple[int, int]]
"""(topic, partition) -> (high watermark, consumer position)."""


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    fn: CheckFn
    timeout_s: float = 0.08
    critical: bool = True


log = structlog.get_logger("onexgen.health")


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str  # ok | degraded | failed
    duration_ms: float
    critical: bool
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status,
                               "duration_ms": round(self.duration_ms, 3),
                               "critical": self.critical, **self.detail}
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: str
    ready: bool
    duration_ms: float
    checks: list[CheckResult]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "ready": self.ready,
                "duration_ms": round(self.duration_ms, 3),
                "checks": {c.name: c.as_dict() for c in self.checks}}


class HealthChecker:
    """The set of checks of one worker; :meth:`run` probes them all within ``budget_s``."""

    def __init__(self, checks: list[HealthCheck] | None = None, *, budget_s: float = 0.1,
                 timeouts_to_fail: int = 3) -> None:
        if timeouts_to_fail < 1:
            raise ValueError(f"timeouts_to_fail must be at least 1, not {timeouts_to_fail}")
        self.checks: list[HealthCheck] = list(checks or [])
        self.budget_s = budget_s
        self.timeouts_to_fail = timeouts_to_fail
        self.last: HealthReport | None = None
        self._timeouts_in_a_row: dict[str, int] = {}

    def add(self, name: str, fn: CheckFn, *, timeout_s: float = 0.08,
            critical: bool = True) -> None:
        self.checks = [c for c in self.checks if c.name != name]
        self.checks.append(HealthCheck(name, fn, timeout_s, critical))

    async def _one(self, check: HealthCheck) -> CheckResult:
        started = time.perf_counter()
        timeout = min(check.timeout_s, self.budget_s)
        try:
            async with asyncio.timeout(timeout):
                detail = dict(await check.fn())
        except TimeoutError:
            return self._timed_out(check, timeout, started)
        except Exception as exc:  # a probe failing is the answer, not a crash of /health
            self._timeouts_in_a_row.pop(check.name, None)
            # /health and /dashboard.json are served to whoever may scrape: they name the
            # check and the kind of failure only. The text (hosts, DSNs, user names) is
            # in the worker's log, which is redacted and not served.
            log.warning("health_check_failed", check=check.name, error=f"{exc}"[:500],
                        error_type=type(exc).__name__)
            return CheckResult(check.name, "failed", (time.perf_counter() - started) * 1000,
                               check.critical, error=f"{type(exc).__name__} (see the worker log)")
        self._timeouts_in_a_row.pop(check.name, None)
        status = str(detail.pop("status", "ok"))
        return CheckResult(check.name, status, (time.perf_counter() - started) * 1000,
                           check.critical, detail)

    def _timed_out(self, check: HealthCheck, timeout: float, started: float) -> CheckResult:
        in_a_row = self._timeouts_in_a_row.get(check.name, 0) + 1
        self._timeouts_in_a_row[check.name] = in_a_row
        failed = in_a_row >= self.timeouts_to_fail
        if in_a_row in (1, self.timeouts_to_fail):  # once when late, once when failed
            log.warning("health_check_timeout", check=check.name,
                        timeout_ms=round(timeout * 1000), in_a_row=in_a_row, failed=failed)
        error = f"no answer within {timeout * 1000:.0f} ms, {in_a_row} time(s) in a row"
        if not failed:
            error += f" (fails at {self.timeouts_to_fail})"
        return CheckResult(check.name, "failed" if failed else "degraded",
                           (time.perf_counter() - started) * 1000, check.critical, error=error)

    async def run(self) -> HealthReport:
        started = time.perf_counter()
        results = list(await asyncio.gather(*(self._one(c) for c in self.checks)))
        failed_critical = any(r.status == "failed" and r.critical for r in results)
        if failed_critical:
            status = "failed"
        elif any(r.status != "ok" for r in results):
            status = "degraded"
        else:
            status = "ok"
        report = HealthReport(status, not failed_critical,
                              (time.perf_counter() - started) * 1000, results)
        self.last = report
        return report


def postgres_check(get_pool: Callable[[], Any]) -> CheckFn:
    """``SELECT 1`` on the pool ``get_pool()`` returns (None while the worker starts)."""

    async def check() -> dict[str, Any]:
        pool = get_pool()
        if pool is None:
            raise RuntimeError("database pool not open yet")
        await pool.fetchval("SELECT 1")
        return {"pool_size": pool.get_size(), "pool_idle": pool.get_idle_size()}

    return check


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def pool_check(pool: Any) -> CheckFn:
    """The generation process pool: started and every process alive.

    Uses the pool's ``pids()`` (and ``in_flight`` when it has one); a pool built
    on ``ProcessPoolExecutor`` without ``pids()`` is read through the executor's
    ``_broken`` / ``_processes`` attributes, which have no public equivalent.
    """

    async def check() -> dict[str, Any]:
        pids_of = getattr(pool, "pids", None)
        if callable(pids_of):
            pids = [int(p) for p in pids_of()]
        else:
            executor = getattr(pool, "_executor", None)
            if executor is None:
                raise RuntimeError("process pool not started")
            if getattr(executor, "_broken", False):
                raise RuntimeError(f"process pool broken: {executor._broken}")
            pids = [int(p) for p in dict(getattr(executor, "_processes", None) or {})]
        if not pids:
            raise RuntimeError("process pool not started (no processes)")
        alive = sum(1 for pid in pids if _pid_alive(pid))
        detail: dict[str, Any] = {"size": getattr(pool, "size", len(pids)), "alive": alive}
        in_flight = getattr(pool, "in_flight", None)
        if isinstance(in_flight, int) or callable(in_flight):
            detail["in_flight"] = in_flight() if callable(in_flight) else in_flight
        if alive < len(pids):
            detail["status"] = "degraded"
        return detail

    return check


def refusal_check(refused: Callable[[], str | None]) -> CheckFn:
    """Failed while ``refused()`` names why the broker refuses the worker's records (an ACL
    revoked while it runs): the worker is unready until a publish succeeds again. The
    reason names an ACL and a topic, no host or credential, so it is served as it is."""

    async def check() -> dict[str, Any]:
        why = refused()
        return {"status": "failed", "refused": why} if why else {}

    return check


def figures_check(read: Callable[[str], float | None], names: tuple[str, ...]) -> CheckFn:
    """Model figures the monitor holds; degraded while none of them was ever reported."""

    async def check() -> dict[str, Any]:
        values = {name: read(name) for name in names}
        detail: dict[str, Any] = {"figures": values}
        if all(v is None for v in values.values()):
            detail["status"] = "degraded"
            detail["hint"] = "no model has reported a figure yet (set_gauge)"
        return detail

    return check


def liveness_check(progress: Mapping[tuple[str, int], tuple[int, float]],
                   offsets: Callable[[], Awaitable[Offsets]], *, stall_after_s: float = 60.0,
                   clock: Callable[[], float] = time.time, started_at: float | None = None
                   ) -> CheckFn:
    """Each assigned partition with lag must have made progress within ``stall_after_s``.

    ``progress`` is the monitor's (topic, partition) -> (last offset processed,
    when); ``offsets()`` gives the high watermark and consumer position of the
    assigned partitions. An idle partition (no lag) is healthy however old its
    last event; a partition with lag whose agent did nothing for
    ``stall_after_s`` is stalled.
    """
    start = clock() if started_at is None else started_at

    async def check() -> dict[str, Any]:
        now = clock()
        stalled: list[str] = []
        partitions: dict[str, Any] = {}
        for (topic, partition), (high, position) in (await offsets()).items():
            done = progress.get((topic, partition))
            if done is not None:
                lag = max(high - (done[0] + 1), 0)
                age = now - done[1]
            else:
                lag = max(high - position, 0)
                age = now - start
            name = f"{topic}:{partition}"
            partitions[name] = {"lag": lag, "idle_s": round(age, 3)}
            if lag > 0 and age > stall_after_s:
                stalled.append(name)
        if stalled:
            raise RuntimeError(f"no progress for over {stall_after_s:g} s with lag on "
                               f"{', '.join(stalled)}")
        return {"partitions": partitions}

    return check


class KafkaProbe:
    """A metadata round trip on a client of its own (the producer's is private to it).

    ``start()`` bootstraps the client once (outside the 100 ms budget); each
    check then costs one metadata request and reports brokers and any of the
    expected topics missing.
    """

    def __init__(self, settings: Any, topics: list[str]) -> None:
        self._settings = settings
        self._topics = topics
        self._client: Any = None

    async def start(self) -> None:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(bootstrap_servers=self._settings.kafka_bootstrap,
                                client_id=f"{self._settings.app_id}-health",
                                **self._settings.kafka_client_kwargs())
        await client.bootstrap()
        self._client = client

    async def check(self) -> dict[str, Any]:
        if self._client is None:
            raise RuntimeError("Kafka probe not started")
        metadata = await self._client.fetch_all_metadata()
        topics = metadata.topics()
        missing = [t for t in self._topics if t not in topics]
        detail: dict[str, Any] = {"brokers": len(metadata.brokers())}
        if missing:
            detail["status"] = "degraded"
            detail["missing_topics"] = missing
        return detail

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
