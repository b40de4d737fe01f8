"""The rule engine: evaluate every rule against live values, emit state transitions.

Each rule is a small state machine, as in Prometheus:

    inactive --condition true--> pending --held for `for` seconds--> firing
    pending/firing --condition false (or no data)--> inactive (firing: a "resolved" alert)

Only transitions produce alerts, plus a periodic re-send of what is still
firing (``resend_interval_s``) so an alert-manager that restarted or missed a
message converges; it deduplicates by fingerprint, so a re-send notifies no
one twice. "No data" (a figure nobody reported inside its window) never fires
and resolves a firing alert: an absent figure is a liveness problem, which the
health checks report, not a threshold breach.

The clock is injected (seconds since the epoch): tests step it, production
passes ``time.time``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from onexgen.alerting.matchers import fingerprint
from onexgen.alerting.metrics import AlertMetrics
from onexgen.alerting.rules import AlertRule, RuleSet
from onexgen.models.wire import AlertMessage, AlertStatus
from onexgen.observability.windows import Clock

__all__ = ["RuleEngine", "RuleState"]

ValueSource = Callable[[str, float], "float | None"]
"""``(metric, now) -> value or None``: what the engine reads (``Monitor.value``)."""


@dataclass(slots=True)
class RuleState:
    rule: AlertRule
    labels: dict[str, str]
    fingerprint: str
    pending_since: float | None = None
    firing_since: float | None = None
    last_sent: float = 0.0
    value: float | None = None
    last_value: float = 0.0
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.firing_since is not None:
            return "firing"
        return "pending" if self.pending_since is not None else "inactive"


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class RuleEngine:
    """Evaluates a :class:`RuleSet`; :meth:`evaluate` returns the alerts to publish."""

    def __init__(self, rules: RuleSet, source: ValueSource, *, clock: Clock = time.time,
                 labels: Mapping[str, str] | None = None,
                 metrics: AlertMetrics | None = None) -> None:
        self.rules = rules
        self.source = source
        self.clock = clock
        self.metrics = metrics
        extra = {**rules.labels, **(labels or {})}
        self.states: list[RuleState] = []
        for rule in rules.rules:
            rule_labels = rule.alert_labels(extra)
            annotations = {"summary": rule.text()}
            if rule.description:
                annotations["description"] = rule.description
            self.states.append(RuleState(rule, rule_labels, fingerprint(rule_labels),
                                         annotations=annotations))

    def evaluate(self, now: float | None = None) -> list[AlertMessage]:
        """One cycle over every rule; the transitions (and due re-sends) as alerts."""
        started = time.perf_counter()
        now = self.clock() if now is None else now
        out: list[AlertMessage] = []
        resend = self.rules.resend_interval_s
        for st in self.states:
            rule = st.rule
            value = self.source(rule.metric, now)
            st.value = value
            if value is not None:
                st.last_value = value
            if value is not None and rule.breached(value):
                if st.pending_since is None:
                    st.pending_since = now
                if st.firing_since is None:
                    if now - st.pending_since >= rule.for_s:
                        st.firing_since = now
                        st.last_sent = now
                        out.append(self._message(st, AlertStatus.FIRING, now))
                elif now - st.last_sent >= resend:
                    st.last_sent = now
                    out.append(self._message(st, AlertStatus.FIRING, now))
            else:
                st.pending_since = None
                if st.firing_since is not None:
                    out.append(self._message(st, AlertStatus.RESOLVED, now))
                    st.firing_since = None
        if self.metrics is not None:
            self.metrics.evaluations.inc()
            self.metrics.evaluation_duration.observe(time.perf_counter() - started)
            if out:
                self._count(out)
        return out

    def _count(self, alerts: list[AlertMessage]) -> None:
        assert self.metrics is not None
        for alert in alerts:
            self.metrics.transitions.labels(rule=alert.rule, status=alert.status.value).inc()
        firing: dict[str, int] = {"info": 0, "warning": 0, "critical": 0}
        for st in self.states:
            if st.firing_since is not None:
                firing[st.rule.severity] += 1
        for severity, count in firing.items():
            self.metrics.firing.labels(severity=severity).set(count)

    def _message(self, st: RuleState, status: AlertStatus, now: float) -> AlertMessage:
        """The alert for ``st``; a resolve on "no data" carries the last value seen."""
        rule = st.rule
        assert st.firing_since is not None
        return AlertMessage(
            fingerprint=st.fingerprint, rule=rule.name, status=status, severity=rule.severity,
            metric=rule.metric, value=st.last_value,
            threshold=rule.threshold, comparison=rule.comparison, labels=st.labels,
            annotations=st.annotations, starts_at=_ts(st.firing_since),
            ends_at=_ts(now) if status is AlertStatus.RESOLVED else None,
        )

    def active(self) -> list[RuleState]:
        """Rules pending or firing now (for the dashboard)."""
        return [st for st in self.states if st.state != "inactive"]
