"""Why an alert is not notified: inhibition by a firing alert, or a maintenance window.

Inhibition: while an alert matching an inhibit rule's ``source_matchers`` is
firing, alerts matching its ``target_matchers`` with equal values of the
``equal`` labels are muted - the usual use is "a critical alert mutes the
warning about the same metric", so people get the one that matters. An alert
never inhibits itself (a rule whose source and target both match it would
otherwise mute everything it covers).

Maintenance windows mute matching alerts during planned work: a one-off
interval (``starts_at``..``ends_at``) or a weekly slot (``days`` +
``start``..``end`` in UTC, spanning midnight when ``end < start``).
Silences, the third reason, are created at run time and live in
:mod:`observability.alerts.silences`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from onexgen.alerting.config import InhibitRule, MaintenanceWindow
from onexgen.alerting.matchers import Matcher, matches_all, parse_matchers
from onexgen.models.wire import AlertMessage, AlertStatus

__all__ = ["Inhibitor", "Maintenance"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Inhibitor:
    """Answers "is this alert muted by another firing alert?" for a set of inhibit rules."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules: list[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]] = [
            (parse_matchers(r.source_matchers), parse_matchers(r.target_matchers),
             tuple(r.equal))
            for r in rules
        ]

    def inhibited(self, alert: AlertMessage, firing: Iterable[AlertMessage]) -> bool:
        """True when some firing alert other than ``alert`` inhibits it."""
        if not self._rules:
            return False
        labels = alert.labels
        candidates = [a for a in firing
                      if a.status is AlertStatus.FIRING and a.fingerprint != alert.fingerprint]
        for source, target, equal in self._rules:
            if not matches_all(target, labels):
                continue
            for other in candidates:
                if matches_all(source, other.labels) and all(
                        other.labels.get(name, "") == labels.get(name, "") for name in equal):
                    return True
        return False


class Maintenance:
    """The configured maintenance windows; :meth:`active_for` names the one muting an alert."""

    def __init__(self, windows: Iterable[MaintenanceWindow]) -> None:
        self._windows = [(w, parse_matchers(w.matchers)) for w in windows]

    @staticmethod
    def in_window(window: MaintenanceWindow, now: datetime) -> bool:
        if window.starts_at is not None and window.ends_at is not None:
            return window.starts_at <= now < window.ends_at
        assert window.start is not None and window.end is not None
        clock = now.timetz().replace(tzinfo=None)
        day = _DAYS[now.weekday()]
        if window.start <= window.end:
            return (not window.days or day in window.days) and window.start <= clock < window.end
        # spans midnight: the part after midnight belongs to the previous day's slot
        if clock >= window.start:
            return not window.days or day in window.days
        if clock < window.end:
            previous = _DAYS[(now.weekday() - 1) % 7]
            return not window.days or previous in window.days
        return False

    def active_for(self, labels: Mapping[str, str], now: datetime) -> str | None:
        """The name of a window in force now that matches ``labels``, else None."""
        for window, matchers in self._windows:
            if matches_all(matchers, labels) and self.in_window(window, now):
                return window.name
        return None

    def active(self, now: datetime) -> list[str]:
        return [w.name for w, _ in self._windows if self.in_window(w, now)]
