"""The alert-manager: from alerts on the topic to notifications, once and in the right place.

:meth:`AlertManager.ingest` takes each alert consumed from ``<prefix>.alerts``;
:meth:`AlertManager.flush` (called every ``tick_s``) decides what goes out:

1. **Dedup**: alerts are keyed by fingerprint; a re-sent alert with the same
   status and start is only a keep-alive. A firing alert not re-sent within
   ``global.resolve_timeout`` is taken as resolved (its source went away).
2. **Routing**: the routing tree (:mod:`~onexgen.alerting.routing`) names
   one or more route nodes; under each the alert joins the group of its
   ``group_by`` labels.
3. **Grouping**: a new group waits ``group_wait`` to collect companions, then
   flushes every ``group_interval``; it notifies when it holds firing alerts
   not yet notified, or resolved ones that were (if the receiver wants
   resolved), and otherwise re-notifies what still fires every
   ``repeat_interval``.
4. **Muting**: silenced or inhibited alerts are left out of a notification, and
   a route outside its time intervals sends nothing; an alert that was never
   notified as firing is never notified as resolved, so a silenced alert
   produces nothing at all.
   Exception - a **take-over**: an alert whose episode began before this manager
   ingested its first alert (:attr:`AlertManager.took_over_at`) may have been
   notified by the previous holder of the alerts partition, whose notification
   history is gone; its resolution is notified unless it is silenced now (at
   most once: the resolve is in no group after the flush).
5. **Escalation** (onexgen's extra, :mod:`~onexgen.alerting.extras`): an
   unmuted alert still firing ``after`` since it started is also sent to the
   policy's receiver (again every ``repeat_interval`` if set), and its
   resolution too.

Everything is in memory and driven by an injected clock; notifications go to
a ``submit`` callable (the :class:`~onexgen.alerting.delivery.DeliveryQueue`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.extras import Extras
from onexgen.alerting.matchers import matches_all, parse_matchers
from onexgen.alerting.metrics import NotificationMetrics
from onexgen.alerting.muting import Inhibitor, RouteSchedule
from onexgen.alerting.receivers.base import Notification, am_sorted
from onexgen.alerting.routing import RouteNode, build_tree, group_key, group_labels, match_routes
from onexgen.alerting.silences import SilenceSet
from onexgen.models.wire import AlertMessage, AlertStatus
from onexgen.observability.windows import Clock

__all__ = ["AlertManager", "Group"]


@dataclass(slots=True)
class Group:
    key: str
    route: RouteNode
    labels: dict[str, str]
    next_flush: float
    alerts: dict[str, AlertMessage] = field(default_factory=dict)
    notified: set[str] = field(default_factory=set)
    last_notify: float | None = None
    flushes: int = 0
    """How many times the group was considered (notified or not): tests wait on it."""


@dataclass(slots=True)
class _Entry:
    alert: AlertMessage
    last_seen: float
    groups: list[str]


class AlertManager:
    def __init__(self, config: ManagerConfig, submit: Callable[[Notification], None], *,
                 extras: Extras | None = None, clock: Clock = time.time,
                 metrics: NotificationMetrics | None = None,
                 silences: SilenceSet | None = None) -> None:
        self.config = config
        self.extras = extras or Extras()
        self.submit = submit
        self.clock = clock
        self.metrics = metrics
        self.silences = silences or SilenceSet()
        self.tree = build_tree(config.route)
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.schedule = RouteSchedule(config.intervals())
        # resolved alerts go along when any integration of the receiver wants them (each
        # integration drops them again if it does not); a receiver without integrations logs
        self.send_resolved = {r.name: not r.integrations() or any(
            [c.send_resolved for c in r.webhook_configs] + [c.send_resolved for c in
             r.slack_configs] + [c.send_resolved for c in r.email_configs])
            for r in config.receivers}
        self.escalations = [(p, parse_matchers(p.matchers)) for p in self.extras.escalations]
        self.alerts: dict[str, _Entry] = {}
        self.groups: dict[str, Group] = {}
        self._resolved_at: dict[str, float] = {}
        self._escalated: dict[tuple[str, str], float] = {}
        self.sent = 0
        self.took_over_at: float | None = None
        """When the first alert came in: episodes begun before it are inherited."""

    def reset(self) -> None:
        """Forget every alert and group: another worker took the alerts partition over.

        Left alone, this manager would go on re-notifying what it last saw and, with no
        more re-sends reaching it, resolve it all after ``resolve_timeout``.
        """
        self.alerts.clear()
        self.groups.clear()
        self._resolved_at.clear()
        self._escalated.clear()
        self.took_over_at = None

    # --- input ----------------------------------------------------------------------
    def ingest(self, alert: AlertMessage) -> bool:
        """Take one alert; False when it changed nothing (duplicate or stale resolve)."""
        now = self.clock()
        if self.took_over_at is None:
            self.took_over_at = now
        fp = alert.fingerprint
        if self.metrics is not None:
            self.metrics.alerts_received.labels(status=alert.status.value).inc()
        entry = self.alerts.get(fp)
        if entry is not None and entry.alert.status is alert.status and (
                entry.alert.starts_at == alert.starts_at):
            entry.last_seen = now
            return self._duplicate()
        if alert.status is AlertStatus.RESOLVED:
            if entry is None:
                if not self.inherited(alert):  # never saw it fire, or resolved and purged
                    return self._duplicate()
                self._resolved_at[fp] = now  # a resolve the previous holder left undelivered
                self.alerts[fp] = _Entry(alert, now, self._join_groups(alert, now))
                return True
            entry.alert = alert
            entry.last_seen = now
            self._resolved_at[fp] = now
            for key in entry.groups:
                group = self.groups.get(key)
                if group is not None:
                    group.alerts[fp] = alert
            return True
        if fp in self._resolved_at and entry is not None and entry.alert.starts_at >= \
                alert.starts_at:
            return self._duplicate()  # a late copy of an episode already resolved
        self._resolved_at.pop(fp, None)
        self.alerts[fp] = _Entry(alert, now, self._join_groups(alert, now))
        return True

    def _join_groups(self, alert: AlertMessage, now: float) -> list[str]:
        """Put ``alert`` in the group of each route it matches; the groups' keys."""
        keys: list[str] = []
        for node in match_routes(self.tree, alert.labels):
            labels = group_labels(node, alert.labels)
            key = node.path + "|" + group_key(node, labels)
            group = self.groups.get(key)
            if group is None:
                group = Group(key, node, labels, now + node.group_wait_s)
                self.groups[key] = group
            group.alerts[alert.fingerprint] = alert
            keys.append(key)
        return keys

    def inherited(self, alert: AlertMessage) -> bool:
        """Began before this manager took the alerts over: maybe notified by the last holder."""
        return self.took_over_at is not None and alert.starts_at.timestamp() < self.took_over_at

    def _duplicate(self) -> bool:
        if self.metrics is not None:
            self.metrics.suppressed.labels(reason="duplicate").inc()
        return False

    # --- muting ---------------------------------------------------------------------
    def firing(self) -> list[AlertMessage]:
        return [e.alert for e in self.alerts.values() if e.alert.status is AlertStatus.FIRING]

    def muted_by(self, alert: AlertMessage, now_dt: datetime,
                 firing: list[AlertMessage]) -> str | None:
        """``silenced`` / ``inhibited`` or None."""
        if self.silences.silenced_by(alert.labels, now_dt) is not None:
            return "silenced"
        if self.inhibitor.inhibited(alert, firing):
            return "inhibited"
        return None

    # --- output ---------------------------------------------------------------------
    def flush(self, now: float | None = None) -> list[Notification]:
        """Send what is due at ``now``; returns the notifications submitted."""
        now = self.clock() if now is None else now
        now_dt = datetime.fromtimestamp(now, UTC)
        self._expire(now, now_dt)
        firing = self.firing()
        muted: dict[str, str | None] = {}

        def reason(alert: AlertMessage) -> str | None:
            if alert.fingerprint not in muted:
                muted[alert.fingerprint] = self.muted_by(alert, now_dt, firing)
            return muted[alert.fingerprint]

        out: list[Notification] = []
        for key in list(self.groups):
            group = self.groups[key]
            if now >= group.next_flush:
                note = self._flush_group(group, now, now_dt, reason)
                if note is not None:
                    out.append(note)
                if not group.alerts:
                    del self.groups[key]
        out += self._escalate(now, firing, reason)
        for note in out:
            self.submit(note)
        self.sent += len(out)
        self._purge(now)
        if self.metrics is not None:
            self.metrics.groups.set(len(self.groups))
            self.metrics.active_silences.set(len(self.silences.active(now_dt)))
            for why in muted.values():
                if why is not None:
                    self.metrics.suppressed.labels(reason=why).inc()
        return out

    def _flush_group(self, group: Group, now: float, now_dt: datetime,
                     reason: Callable[[AlertMessage], str | None]) -> Notification | None:
        node = group.route
        group.flushes += 1
        scheduled_out = self.schedule.muted(node, now_dt)
        if scheduled_out is not None:  # the route may not notify now: nothing goes out
            if self.metrics is not None:
                self.metrics.suppressed.labels(reason=scheduled_out).inc()
            for alert in [a for a in group.alerts.values() if a.status is AlertStatus.RESOLVED]:
                del group.alerts[alert.fingerprint]
            group.next_flush = now + node.group_interval_s
            return None
        send_resolved = self.send_resolved.get(node.receiver, True)
        firing = [a for a in group.alerts.values()
                  if a.status is AlertStatus.FIRING and reason(a) is None]
        resolved = [a for a in group.alerts.values()
                    if a.status is AlertStatus.RESOLVED and (a.fingerprint in group.notified or (
                        self.inherited(a) and self.silences.silenced_by(a.labels, now_dt) is None))]
        firing_set = {a.fingerprint for a in firing}
        new = bool(firing_set - group.notified)
        repeat = bool(firing) and group.last_notify is not None and (
            now - group.last_notify >= node.repeat_interval_s)
        send = new or repeat or (bool(resolved) and send_resolved)
        note = None
        if send and (firing or send_resolved):
            alerts = am_sorted(firing + (resolved if send_resolved else []))
            note = Notification(node.receiver, group.key.partition("|")[2], dict(group.labels),
                                tuple(alerts), now, external_url=self.extras.external_url)
            group.notified = firing_set
            group.last_notify = now
        else:
            group.notified &= firing_set
        for alert in [a for a in group.alerts.values() if a.status is AlertStatus.RESOLVED]:
            del group.alerts[alert.fingerprint]
        group.next_flush = now + node.group_interval_s
        return note

    def _escalate(self, now: float, firing: list[AlertMessage],
                  reason: Callable[[AlertMessage], str | None]) -> list[Notification]:
        out: list[Notification] = []
        firing_fps = {a.fingerprint for a in firing}
        for policy, matchers in self.escalations:
            for alert in firing:
                if not matches_all(matchers, alert.labels) or reason(alert) is not None:
                    continue
                if now - alert.starts_at.timestamp() < policy.after:
                    continue
                key = (policy.name, alert.fingerprint)
                last = self._escalated.get(key)
                if last is not None and (policy.repeat_interval is None
                                         or now - last < policy.repeat_interval):
                    continue
                self._escalated[key] = now
                out.append(self._escalation(policy.name, policy.receiver, alert, now))
            for key in [k for k in self._escalated if k[0] == policy.name
                        and k[1] not in firing_fps]:
                del self._escalated[key]
                entry = self.alerts.get(key[1])
                if entry is not None and self.send_resolved.get(policy.receiver, True):
                    out.append(self._escalation(policy.name, policy.receiver, entry.alert, now))
        return out

    def _escalation(self, policy: str, receiver: str, alert: AlertMessage,
                    now: float) -> Notification:
        if self.metrics is not None:
            self.metrics.escalations.labels(policy=policy).inc()
        return Notification(receiver, f"escalation:{policy}:{alert.fingerprint}",
                            {"alertname": alert.rule, "escalation": policy}, (alert,), now,
                            kind="escalation", external_url=self.extras.external_url)

    def _expire(self, now: float, now_dt: datetime) -> None:
        """Firing alerts nobody re-sent within ``resolve_timeout`` resolve here."""
        timeout = self.config.global_.resolve_timeout
        for entry in list(self.alerts.values()):
            alert = entry.alert
            if alert.status is AlertStatus.FIRING and now - entry.last_seen > timeout:
                self.ingest(alert.model_copy(update={"status": AlertStatus.RESOLVED,
                                                     "ends_at": now_dt}))

    def _purge(self, now: float) -> None:
        """Forget resolved alerts after the dedup window (late duplicates are still dropped)."""
        horizon = now - self.extras.dedup_window
        for fp, at in list(self._resolved_at.items()):
            if at < horizon:
                del self._resolved_at[fp]
                entry = self.alerts.get(fp)
                if entry is not None and entry.alert.status is AlertStatus.RESOLVED:
                    del self.alerts[fp]

    def active_alerts(self, now: float | None = None) -> list[dict[str, object]]:
        """Firing alerts with why each is muted, if it is (for the dashboard)."""
        now_dt = datetime.fromtimestamp(self.clock() if now is None else now, UTC)
        firing = self.firing()
        return [{"rule": a.rule, "severity": a.severity, "value": a.value,
                 "threshold": a.threshold, "comparison": a.comparison,
                 "fingerprint": a.fingerprint, "starts_at": a.starts_at.isoformat(),
                 "muted": self.muted_by(a, now_dt, firing)} for a in firing]
