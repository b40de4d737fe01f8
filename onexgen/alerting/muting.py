"""Why an alert is not notified: inhibition by a firing alert, or a route's time intervals.

Inhibition (Alertmanager's ``inhibit/inhibit.go``): an alert matching a rule's
target matchers is muted while some *other* firing alert matches its source
matchers and has the same value for every label in ``equal`` - a label absent
from both counts as equal (both ``""``). When the target also matches the
source side, sources that also match the target side are not counted, so a
rule whose two sides overlap does not mute every alert it covers.

Time intervals: a route's ``mute_time_intervals`` stop its notifications while
any of them is in force, its ``active_time_intervals`` allow them only while
one is (:class:`RouteSchedule`). Silences, the third reason, are created at run
time and live in :mod:`onexgen.alerting.silences`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from onexgen.alerting.config import InhibitRule
from onexgen.alerting.matchers import Matcher, matches_all
from onexgen.alerting.routing import RouteNode
from onexgen.alerting.timeintervals import TimeInterval
from onexgen.models.wire import AlertMessage, AlertStatus

__all__ = ["Inhibitor", "RouteSchedule"]


class Inhibitor:
    """Answers "is this alert muted by another firing alert?" for a set of inhibit rules."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules: list[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]] = [
            (r.sources(), r.targets(), tuple(r.equal)) for r in rules]

    def inhibited(self, alert: AlertMessage, firing: Iterable[AlertMessage]) -> bool:
        return inhibited_labels(self._rules, alert.labels, alert.fingerprint, [
            (a.fingerprint, a.labels) for a in firing if a.status is AlertStatus.FIRING])

    @property
    def rules(self) -> list[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]]:
        return self._rules


def inhibited_labels(rules: list[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]],
                     labels: Mapping[str, str], own: str,
                     firing: list[tuple[str, Mapping[str, str]]]) -> bool:
    for source, target, equal in rules:
        if not matches_all(target, labels):
            continue
        two_sided = matches_all(source, labels)
        for fingerprint, other in firing:
            if fingerprint == own or not matches_all(source, other):
                continue
            if any(other.get(name, "") != labels.get(name, "") for name in equal):
                continue
            if two_sided and matches_all(target, other):
                continue
            return True
    return False


class RouteSchedule:
    """The named time intervals, asked per route node whether it may notify now."""

    def __init__(self, intervals: Mapping[str, TimeInterval]) -> None:
        self._intervals = dict(intervals)

    def muted(self, node: RouteNode, now: datetime) -> str | None:
        """``mute_time_interval`` / ``outside_active_time_interval`` or None."""
        if any(self._intervals[n].contains(now) for n in node.mute_time_intervals):
            return "mute_time_interval"
        if node.active_time_intervals and not any(
                self._intervals[n].contains(now) for n in node.active_time_intervals):
            return "outside_active_time_interval"
        return None

    def active(self, now: datetime) -> list[str]:
        return [name for name, interval in self._intervals.items() if interval.contains(now)]
