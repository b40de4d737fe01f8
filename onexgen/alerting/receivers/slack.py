"""Slack receiver: an incoming-webhook message with one attachment per alert (max 20).

Incoming webhooks take ``text`` plus legacy ``attachments`` (coloured side bar,
title, fields), which still render everywhere Slack does and keep the message
readable in notifications where blocks degrade to plain text. Colour follows
status and severity: red critical, orange warning, green resolved.
"""

from __future__ import annotations

from typing import Any

from onexgen.alerting.config import SlackReceiver
from onexgen.alerting.receivers.base import Notification, notification_title
from onexgen.alerting.receivers.http import JsonPoster
from onexgen.models.wire import AlertMessage, AlertStatus

__all__ = ["Slack", "slack_message"]

MAX_ATTACHMENTS = 20
_COLOURS = {"critical": "#d62728", "warning": "#ff9f1c", "info": "#1f77b4"}
_RESOLVED = "#2ca02c"


def _attachment(alert: AlertMessage) -> dict[str, Any]:
    resolved = alert.status is AlertStatus.RESOLVED
    summary = alert.annotations.get("summary", alert.rule)
    return {
        "color": _RESOLVED if resolved else _COLOURS.get(alert.severity, "#7f7f7f"),
        "title": f"{'RESOLVED' if resolved else alert.severity.upper()}: {alert.rule}",
        "text": summary,
        "fields": [
            {"title": "value", "value": f"{alert.value:g}", "short": True},
            {"title": "threshold", "value": f"{alert.comparison} {alert.threshold:g}",
             "short": True},
            {"title": "since", "value": alert.starts_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
             "short": True},
            {"title": "fingerprint", "value": alert.fingerprint, "short": True},
        ],
        "footer": "onexgen",
        "ts": int(alert.starts_at.timestamp()),
    }


def slack_message(notification: Notification, *, channel: str | None = None,
                  username: str = "onexgen") -> dict[str, Any]:
    alerts = list(notification.alerts)
    shown = alerts[:MAX_ATTACHMENTS]
    text = notification_title(notification)
    if len(alerts) > len(shown):
        text += f" (showing {len(shown)} of {len(alerts)})"
    message: dict[str, Any] = {"text": text, "username": username,
                               "attachments": [_attachment(a) for a in shown]}
    if channel:
        message["channel"] = channel
    return message


class Slack:
    def __init__(self, config: SlackReceiver) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._channel = config.channel
        self._username = config.username
        self._poster = JsonPoster(config.name, config.url.get_secret_value(), config.timeout_s)

    async def send(self, notification: Notification) -> None:
        await self._poster.post(slack_message(notification, channel=self._channel,
                                              username=self._username))

    async def close(self) -> None:
        await self._poster.close()
