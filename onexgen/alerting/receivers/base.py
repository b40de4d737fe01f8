"""What every receiver gets (a :class:`Notification`) and promises (:class:`Receiver`).

A notification is one group of alerts going to one receiver at one flush, the
unit Alertmanager sends too: a person gets "3 alerts firing for
cache_hit_rate" once, not three messages. Receivers raise
:class:`~onexgen.alerting.errors.DeliveryError` with ``retryable`` set
when the other side failed in a way a later attempt can fix (connection
refused, timeout, 5xx, 429), and unset when it cannot (400, 401, 404: the
configuration is wrong) - the delivery queue retries the first kind until it
succeeds and drops the second kind with an error log naming the fix.

Messages of ``DeliveryError`` never contain the receiver's URL or password:
they end up in logs and webhook URLs are credentials.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from onexgen.models.wire import AlertMessage, AlertStatus

__all__ = ["Notification", "Receiver", "alert_annotations", "am_fingerprint", "am_sorted",
           "common_items", "notification_title", "rfc3339"]

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` for alerts that have not ended."""


def rfc3339(moment: datetime | None) -> str:
    """UTC in Go's RFC3339Nano form (what Alertmanager writes): no trailing fraction zeros."""
    if moment is None:
        return ZERO_TIME
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "Z"


def common_items(dicts: list[dict[str, str]]) -> dict[str, str]:
    """Pairs present with the same value in every dict (Alertmanager's commonLabels)."""
    if not dicts:
        return {}
    first, *rest = dicts
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in rest)}


def alert_annotations(alert: AlertMessage) -> dict[str, str]:
    """The alert's annotations with its ``value`` and ``threshold``, as every channel and the
    Alertmanager hand-off carry them (so commonAnnotations sees them too)."""
    annotations = dict(alert.annotations)
    annotations.setdefault("value", f"{alert.value:g}")
    annotations.setdefault("threshold", f"{alert.comparison} {alert.threshold:g}")
    return annotations


_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


def am_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted ``name 0xff value
    0xff``, as 16 hex digits (``prometheus/common`` ``labelSetToFingerprint``)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in chunk:
                digest = ((digest ^ byte) * _FNV_PRIME) & _MASK
    return f"{digest:016x}"


def _labels_before(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    """``LabelSet.Before`` as a comparison: fewer labels first, then by sorted names."""
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    for name in sorted([*a, *b]):
        if name not in a:
            return -1
        if name not in b:
            return 1
        if a[name] != b[name]:
            return -1 if a[name] < b[name] else 1
    return 0


def _compare(x: AlertMessage, y: AlertMessage) -> int:
    for key in ("job", "instance"):  # Alertmanager's AlertSlice.Less looks at these first
        xv, yv = x.labels.get(key), y.labels.get(key)
        if xv is None and yv is None:
            continue
        if xv is None:
            return 1
        if yv is None:
            return -1
        if xv != yv:
            return -1 if xv < yv else 1
    return _labels_before(x.labels, y.labels)


def am_sorted(alerts: list[AlertMessage]) -> list[AlertMessage]:
    """The order Alertmanager sends a group's alerts in (what ``max_alerts`` keeps)."""
    return sorted(alerts, key=functools.cmp_to_key(_compare))


@dataclass(frozen=True, slots=True)
class Notification:
    """One group of alerts for one receiver; ``kind`` is ``group`` or ``escalation``."""

    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: tuple[AlertMessage, ...]
    created_at: float
    kind: Literal["group", "escalation"] = "group"
    external_url: str = ""
    id: str = field(default="")

    @property
    def status(self) -> str:
        """``firing`` if any alert fires, else ``resolved`` (as Alertmanager decides)."""
        firing = any(a.status is AlertStatus.FIRING for a in self.alerts)
        return "firing" if firing else "resolved"

    @property
    def firing(self) -> list[AlertMessage]:
        return [a for a in self.alerts if a.status is AlertStatus.FIRING]

    @property
    def resolved(self) -> list[AlertMessage]:
        return [a for a in self.alerts if a.status is AlertStatus.RESOLVED]

    @property
    def common_labels(self) -> dict[str, str]:
        return common_items([a.labels for a in self.alerts])

    @property
    def common_annotations(self) -> dict[str, str]:
        return common_items([alert_annotations(a) for a in self.alerts])


def notification_title(notification: Notification) -> str:
    """``[FIRING:2] cache_hit_rate_low (critical)`` - subject line and Slack title."""
    count = len(notification.firing) if notification.status == "firing" else len(
        notification.resolved)
    name = notification.group_labels.get("alertname") or notification.common_labels.get(
        "alertname", "alerts")
    severity = notification.common_labels.get("severity")
    prefix = "[ESCALATED] " if notification.kind == "escalation" else ""
    suffix = f" ({severity})" if severity else ""
    return f"{prefix}[{notification.status.upper()}:{count}] {name}{suffix}"


class Receiver(Protocol):
    """A notification channel; ``send`` returns once the other side accepted it."""

    name: str
    send_resolved: bool

    async def send(self, notification: Notification) -> None: ...

    async def close(self) -> None: ...
