"""The two running halves of alerting, independent of Faust so tests and benchmarks drive them.

* :class:`MonitorLoop` - one cycle: snapshot the monitor's windows, export them
  as ``onexgen_monitor_value``, evaluate the rules, publish the transitions to
  ``<prefix>.alerts`` keyed by fingerprint. Alerts Kafka did not take stay
  pending and go out with the next cycle: a transition is never skipped.
* :class:`AlertManagerService` - receivers, delivery queue and the
  :class:`~onexgen.alerting.manager.AlertManager`, fed with the raw bytes of
  each consumed alert (:meth:`handle`) and ticked every ``tick_s``
  (:meth:`tick`: flush due groups, refresh silences from Postgres).

**Offsets follow delivery.** A consumed alert that changed the manager's state
is held (:meth:`AlertManagerService.handle` with a ``token``, the agent's Kafka
event) until every group it joined has flushed since and the notifications
queued up to then have left the delivery queue (sent, or parked as failed);
only then does :meth:`AlertManagerService.settled` hand the token back for the
agent to acknowledge, so Kafka commits it. A worker killed before that leaves
the offset uncommitted and the next holder of the alerts partition reads the
alert again: a resolve in flight is delivered by the next holder, not lost.
Duplicates (keep-alive re-sends) need no delivery, but tokens come back in
consumption order: a duplicate waits behind an earlier alert still held. Faust
commits the run of acknowledged offsets that follows its last commit and
does not notice when that run starts one past it: with offset 36 held and 37
acknowledged it commits 38 (faust-streaming 0.15.3,
``Consumer._new_offset``; docs/upstream/faust-ack-gap.md).

``agents/monitor.py`` and ``agents/alertmanager.py`` attach these to the Faust
app as a timer and an agent; the integration tests and ``bench/bench_alerts.py``
run them directly against the real topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.delivery import DeliveryQueue
from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.extras import Extras
from onexgen.alerting.manager import AlertManager, Group
from onexgen.alerting.metrics import AlertMetrics, NotificationMetrics
from onexgen.alerting.receivers import build_receivers
from onexgen.alerting.silences import Silence
from onexgen.models.wire import AlertMessage, dump_json
from onexgen.observability.context import CORRELATION_ID_HEADER, new_correlation_id
from onexgen.observability.monitor import Monitor
from onexgen.observability.windows import Clock
from onexgen.streams.errors import PublishError
from onexgen.streams.records import OutboundRecord

__all__ = ["AlertManagerService", "AlertPublisher", "MonitorLoop", "alert_record"]

log = structlog.get_logger("onexgen.alerts")

PublishFn = Callable[[Sequence[OutboundRecord]], Awaitable[None]]
SilenceSource = Callable[[datetime], Awaitable[list[Silence]]]


def alert_record(topic: str, alert: AlertMessage) -> OutboundRecord:
    """The Kafka record of ``alert``: key = fingerprint, so one alert's history stays ordered."""
    return OutboundRecord(topic, alert.fingerprint.encode(), dump_json(alert), [
        (CORRELATION_ID_HEADER, new_correlation_id().encode()),
        ("x-alert-status", alert.status.value.encode()),
    ])


class AlertPublisher:
    """Publishes alerts; what Kafka refused is kept and sent first next time."""

    def __init__(self, publish: PublishFn, topic: str,
                 metrics: AlertMetrics | None = None) -> None:
        self._publish = publish
        self.topic = topic
        self.metrics = metrics
        self.pending: list[AlertMessage] = []

    async def publish(self, alerts: Sequence[AlertMessage]) -> int:
        self.pending.extend(alerts)
        if not self.pending:
            return 0
        batch = list(self.pending)
        try:
            await self._publish([alert_record(self.topic, a) for a in batch])
        except PublishError as exc:
            if self.metrics is not None:
                self.metrics.publish_failures.inc()
            log.warning("alert_publish_failed", pending=len(batch), error=str(exc))
            return 0
        del self.pending[:len(batch)]
        for alert in batch:
            log.info("alert_published", rule=alert.rule, status=alert.status.value,
                     severity=alert.severity, value=alert.value, fingerprint=alert.fingerprint)
        return len(batch)


class MonitorLoop:
    """Evaluate and publish; :meth:`run_once` is the body of the monitor's Faust timer."""

    def __init__(self, monitor: Monitor, engine: RuleEngine, publisher: AlertPublisher) -> None:
        self.monitor = monitor
        self.engine = engine
        self.publisher = publisher

    async def run_once(self, now: float | None = None) -> list[AlertMessage]:
        now = self.monitor.clock() if now is None else now
        self.monitor.export(self.monitor.snapshot(now))
        alerts = self.engine.evaluate(now)
        await self.publisher.publish(alerts)
        return alerts


@dataclass(slots=True)
class _Held:
    """A consumed alert not yet safe to commit: the groups it joined (with their flush
    count then) and, once they all flushed, the delivery barrier to pass."""

    token: object
    groups: list[tuple[Group, int]]
    barrier: dict[str, int] | None = None
    done: bool = False  # nothing to deliver (a duplicate, not an alert)


class AlertManagerService:
    """Receivers + delivery queue + manager + silence refresh, started and stopped together."""

    def __init__(self, config: ManagerConfig, *, extras: Extras | None = None,
                 registry: CollectorRegistry | None = None, clock: Clock = time.time,
                 silence_source: SilenceSource | None = None) -> None:
        self.config = config
        self.extras = extras = extras or Extras()
        self.clock = clock
        self.metrics = NotificationMetrics(registry) if registry is not None else None
        receivers, fanout = build_receivers(config)
        self.delivery = DeliveryQueue(receivers, fanout=fanout, metrics=self.metrics,
                                      retry_initial_s=extras.retry_initial,
                                      retry_max_s=extras.retry_max,
                                      retry_attempts=extras.retry_attempts)
        self.manager = AlertManager(config, self.delivery.submit, extras=extras, clock=clock,
                                    metrics=self.metrics)
        self.silence_source = silence_source
        self._silences_at = float("-inf")
        self.invalid = 0
        self._started = False
        self._held: deque[_Held] = deque()  # in consumption order

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """Start the delivery tasks (needs the running loop); safe to call twice."""
        self.delivery.start()
        self._started = True

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        await self.delivery.stop(drain_timeout_s)

    def handle(self, value: bytes | None, token: object | None = None) -> bool:
        """One consumed record's value; False when it was not an alert or changed nothing.

        ``token`` (the record's Kafka event) comes back from :meth:`settled` once what the
        alert changed has been delivered.
        """
        alert = decode_alert(value)
        changed = alert is not None and self.manager.ingest(alert)
        if alert is None:
            self.invalid += 1
        if token is None:
            return changed
        entry = self.manager.alerts.get(alert.fingerprint) if changed and alert else None
        if entry is None:
            self._held.append(_Held(token, [], done=True))
        else:
            self._held.append(_Held(token, [(g, g.flushes) for g in (
                self.manager.groups.get(key) for key in entry.groups) if g is not None]))
        return changed

    @property
    def held(self) -> int:
        """Consumed alerts, with what queues behind them, not yet committable."""
        return len(self._held)

    def settled(self) -> list[object]:
        """Tokens to commit: the longest prefix, in consumption order, of consumed alerts
        whose notifications have left the delivery queue (or that needed none).

        Only the head is examined: an alert's barrier is taken once it reaches the head
        and its groups have flushed, which waits for at least what the first one did.
        """
        out: list[object] = []
        while self._held:
            head = self._held[0]
            if not head.done:
                if head.barrier is None and all(
                        group.flushes > flushes or self.manager.groups.get(group.key) is not group
                        for group, flushes in head.groups):
                    head.barrier = self.delivery.mark()
                if head.barrier is None or not self.delivery.passed(head.barrier):
                    break
            out.append(self._held.popleft().token)
        return out

    def partition_lost(self) -> None:
        """Another worker holds the alerts now: its manager notifies; what is queued here
        still goes out. (Tokens still held are the caller's: :meth:`release` them.)"""
        self.manager.reset()

    def release(self) -> list[object]:
        """Every token, settled or not: Faust waits for all of them before a rebalance."""
        out = [h.token for h in self._held]
        self._held.clear()
        return out

    async def refresh_silences(self) -> None:
        if self.silence_source is None:
            return
        try:
            silences = await self.silence_source(datetime.fromtimestamp(self.clock(), UTC))
        except Exception as exc:  # keep the last known silences while Postgres is away
            log.warning("silence_refresh_failed", error_type=type(exc).__name__, error=str(exc))
            return
        self.manager.silences.replace(silences)

    async def tick(self) -> int:
        """Refresh silences when due, then flush; returns notifications submitted."""
        now = self.clock()
        if now - self._silences_at >= self.extras.silence_refresh:
            self._silences_at = now
            await self.refresh_silences()
        return len(self.manager.flush(now))

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every ``tick`` until ``stop`` is set (outside Faust: tests, benchmarks)."""
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):  # the tick interval passed: tick again
                await asyncio.wait_for(stop.wait(), self.extras.tick)


def decode_alert(value: bytes | None) -> AlertMessage | None:
    """A record of the alerts topic as an alert; None (logged) when it is not one."""
    try:
        return AlertMessage.model_validate_json(value or b"")
    except ValidationError as exc:
        log.warning("alert_message_invalid", error=exc.errors()[0]["msg"],
                    hint="only onexgen alerts (AlertMessage JSON) belong on this topic")
        return None
