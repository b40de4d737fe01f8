"""Webhook receiver: the Prometheus Alertmanager v4 webhook payload, POSTed as JSON.

The same body Alertmanager's ``webhook_config`` sends, so anything that
consumes Alertmanager webhooks (incident tools, chat bridges, a team's own
service) works with onexgen unchanged. Field by field, as documented by
Prometheus: ``version`` "4", ``groupKey``, ``truncatedAlerts``, ``status``,
``receiver``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
``externalURL`` and ``alerts`` (each with ``status``, ``labels``,
``annotations``, ``startsAt``, ``endsAt`` (zero time while firing),
``generatorURL``, ``fingerprint``).
"""

from __future__ import annotations

from typing import Any

from onexgen.alerting.config import WebhookReceiver
from onexgen.alerting.receivers.base import Notification, rfc3339
from onexgen.alerting.receivers.http import JsonPoster
from onexgen.models.wire import AlertMessage

__all__ = ["Webhook", "alertmanager_payload"]


def _alert(alert: AlertMessage, generator_url: str) -> dict[str, Any]:
    annotations = dict(alert.annotations)
    annotations.setdefault("value", f"{alert.value:g}")
    annotations.setdefault("threshold", f"{alert.comparison} {alert.threshold:g}")
    return {
        "status": alert.status.value,
        "labels": dict(alert.labels),
        "annotations": annotations,
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "generatorURL": generator_url,
        "fingerprint": alert.fingerprint,
    }


def alertmanager_payload(notification: Notification, *, max_alerts: int = 0) -> dict[str, Any]:
    """The v4 body; ``max_alerts`` > 0 truncates the list and reports how many were cut."""
    alerts = list(notification.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    generator = f"{notification.external_url}/dashboard" if notification.external_url else ""
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": notification.common_labels,
        "commonAnnotations": notification.common_annotations,
        "externalURL": notification.external_url,
        "alerts": [_alert(a, generator) for a in alerts],
    }


class Webhook:
    def __init__(self, config: WebhookReceiver) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._max_alerts = config.max_alerts
        self._poster = JsonPoster(config.name, config.url.get_secret_value(), config.timeout_s)

    async def send(self, notification: Notification) -> None:
        await self._poster.post(alertmanager_payload(notification, max_alerts=self._max_alerts))

    async def close(self) -> None:
        await self._poster.close()
