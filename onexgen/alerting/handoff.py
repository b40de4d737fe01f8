"""Hand-off to an existing Alertmanager: post the alerts topic to its API v2.

With ``ONEXGEN_ALERTMANAGER_URL`` set, the alert-manager agent does not route
or notify itself: it forwards what the monitors publish to the team's
Alertmanager, which then routes, groups, silences and notifies with the
team's own config. This is the contract Prometheus keeps with Alertmanager
(``POST /api/v2/alerts``):

* a firing alert is posted with ``startsAt``, ``generatorURL`` and an
  ``endsAt`` a few resend periods ahead, and re-posted every ``resend_s`` while
  it fires, so Alertmanager keeps it alive and, if onexgen goes away, resolves
  it by itself once ``endsAt`` passes;
* a resolved alert is posted once with its real ``endsAt``, which resolves it.

Labels are the alert's; annotations carry ``value`` and ``threshold`` as the
built-in webhook does, so the payload a team's receiver gets from
Alertmanager has the same fields either way. Changes are posted on the next
tick (``tick``); a failed post is retried on the following ones, resolved
alerts included, and counted in ``onexgen_alertmanager_handoff_posts_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import structlog

from onexgen.alerting.errors import AlertmanagerError
from onexgen.alerting.metrics import NotificationMetrics
from onexgen.alerting.receivers.base import alert_annotations, rfc3339
from onexgen.alerting.service import decode_alert
from onexgen.models.wire import AlertMessage, AlertStatus
from onexgen.observability.windows import Clock

__all__ = ["AlertmanagerHandoff", "api_alert"]

log = structlog.get_logger("onexgen.alerts.handoff")


def api_alert(alert: AlertMessage, *, ends_at: datetime | None,
              external_url: str) -> dict[str, Any]:
    """One ``postableAlert`` of Alertmanager's API v2."""
    body: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": alert_annotations(alert),
        "startsAt": rfc3339(alert.starts_at),
        "generatorURL": f"{external_url}/dashboard" if external_url else "",
    }
    if ends_at is not None:
        body["endsAt"] = rfc3339(ends_at)
    return body


class AlertmanagerHandoff:
    """Keeps the alerts seen on the topic and posts them to ``url``/api/v2/alerts."""

    def __init__(self, url: str, *, resend_s: float = 15.0, tick_s: float = 0.25,
                 external_url: str = "", clock: Clock = time.time,
                 metrics: NotificationMetrics | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.resend_s = resend_s
        self.tick_s = tick_s
        self.external_url = external_url
        self.clock = clock
        self.metrics = metrics
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.firing: dict[str, AlertMessage] = {}
        self.resolved: dict[str, AlertMessage] = {}
        self._dirty = False
        self._last_post = float("-inf")
        self.posted = 0
        self.invalid = 0
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        self._started = True

    def partition_lost(self) -> None:
        """Another worker holds the alerts now: stop re-posting what fires (it will, and a
        stale re-post would undo its resolves); resolves still queued here go out."""
        self.firing.clear()

    def handle(self, value: bytes | None) -> bool:
        """One consumed record's value; False when it was not an alert or changed nothing."""
        alert = decode_alert(value)
        if alert is None:
            self.invalid += 1
            return False
        fp = alert.fingerprint
        if alert.status is AlertStatus.FIRING:
            known = self.firing.get(fp)
            self.firing[fp] = alert
            self.resolved.pop(fp, None)
            changed = known is None or known.starts_at != alert.starts_at
        else:
            changed = self.firing.pop(fp, None) is not None
            if changed:
                self.resolved[fp] = alert
        self._dirty = self._dirty or changed
        return changed

    def body(self, now: float) -> list[dict[str, Any]]:
        ahead = datetime.fromtimestamp(now + 4 * self.resend_s, UTC)
        out = [api_alert(a, ends_at=ahead, external_url=self.external_url)
               for a in self.firing.values()]
        out += [api_alert(a, ends_at=a.ends_at or datetime.fromtimestamp(now, UTC),
                          external_url=self.external_url) for a in self.resolved.values()]
        return out

    async def post(self, alerts: list[dict[str, Any]]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self.url, data=orjson.dumps(alerts), headers={
                    "Content-Type": "application/json"}) as response:
                text = (await response.text())[:200]
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AlertmanagerError(f"Alertmanager at {self.url} unreachable "
                                    f"({type(exc).__name__}); will retry") from exc
        if not 200 <= status < 300:
            raise AlertmanagerError(f"Alertmanager at {self.url} answered HTTP {status} "
                                    f"{text!r}; check ONEXGEN_ALERTMANAGER_URL")

    async def tick(self) -> int:
        """Post when something changed or the resend period passed; returns alerts posted."""
        now = self.clock()
        if not self._dirty and (not self.firing or now - self._last_post < self.resend_s):
            return 0
        alerts = self.body(now)
        if not alerts:
            self._dirty = False
            return 0
        try:
            await self.post(alerts)
        except AlertmanagerError as exc:
            if self.metrics is not None:
                self.metrics.handoff.labels(outcome="error").inc()
            log.warning("alertmanager_handoff_failed", error=str(exc), alerts=len(alerts))
            return 0
        if self.metrics is not None:
            self.metrics.handoff.labels(outcome="ok").inc()
        self.resolved.clear()
        self._dirty = False
        self._last_post = now
        self.posted += len(alerts)
        return len(alerts)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):  # the tick interval passed: tick again
                await asyncio.wait_for(stop.wait(), self.tick_s)

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_timeout_s):
                await self.tick()
        if self._session is not None:
            await self._session.close()
            self._session = None
