"""Webhook integration: the Alertmanager v4 webhook payload, built as Alertmanager builds it.

Anything that consumes Alertmanager webhooks (incident tools, chat bridges, a
team's own service) works with onexgen unchanged. The steps follow
``notify/webhook/webhook.go`` and ``template.Data``: the group's alerts in
Alertmanager's order are truncated to ``max_alerts`` *first*; ``status``,
``commonLabels`` and ``commonAnnotations`` are then computed over what is
sent; ``groupLabels`` holds only the group_by labels the alerts have;
``receiver`` is the receiver name regex-quoted as Go's ``QuoteMeta`` does;
each alert's ``fingerprint`` is Alertmanager's (FNV-1a over the labels).
Firing alerts carry the zero ``endsAt``, resolved ones their end.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from onexgen.alerting.config import HttpConfig, WebhookConfig
from onexgen.alerting.receivers.base import (
    Notification,
    alert_annotations,
    am_fingerprint,
    rfc3339,
)
from onexgen.alerting.receivers.http import JsonPoster
from onexgen.models.wire import AlertMessage

__all__ = ["Webhook", "alertmanager_payload", "quote_meta"]

_SPECIAL = set("\\.+*?()|[]{}^$")


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta`` (Alertmanager applies it to the receiver name)."""
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def generator_url(alert: AlertMessage, external_url: str) -> str:
    return f"{external_url}/dashboard" if external_url else ""


def _alert(alert: AlertMessage, external_url: str) -> dict[str, Any]:
    return {
        "status": alert.status.value,
        "labels": dict(alert.labels),
        "annotations": alert_annotations(alert),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "generatorURL": generator_url(alert, external_url),
        "fingerprint": am_fingerprint(alert.labels),
    }


def alertmanager_payload(notification: Notification, *, max_alerts: int = 0) -> dict[str, Any]:
    """The v4 body; ``max_alerts`` > 0 truncates the list and reports how many were cut."""
    alerts = list(notification.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    sent = replace(notification, alerts=tuple(alerts))
    return {
        "receiver": quote_meta(notification.receiver),
        "status": sent.status,
        "alerts": [_alert(a, notification.external_url) for a in alerts],
        "groupLabels": dict(notification.group_labels),
        "commonLabels": sent.common_labels,
        "commonAnnotations": sent.common_annotations,
        "externalURL": notification.external_url,
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
    }


class Webhook:
    def __init__(self, name: str, config: WebhookConfig, *,
                 global_http: HttpConfig | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self._max_alerts = config.max_alerts
        self._poster = JsonPoster(name, config.url, config.url_file, config.timeout or 30.0,
                                  config.http_config or global_http)

    async def send(self, notification: Notification) -> None:
        await self._poster.post(alertmanager_payload(notification, max_alerts=self._max_alerts))

    async def close(self) -> None:
        await self._poster.close()
