"""Slack integration: an incoming-webhook message with one attachment per alert (max 20).

Incoming webhooks take ``text`` plus legacy ``attachments`` (coloured side bar,
title, fields), which render everywhere Slack does. Colour follows status and
severity: red critical, orange warning, green resolved. ``title``, ``text``,
``title_link``, ``color``, ``channel`` and ``username`` from the config replace
onexgen's defaults (as literal text: Go templates are refused at load).

Everything taken from an alert (labels, annotations) is escaped per Slack's
rules - ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` - so an
annotation holding ``<!channel>`` or ``<https://x|click>`` shows as text and
does not ping a channel or hide a link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from onexgen.alerting.config import HttpConfig, SlackConfig
from onexgen.alerting.receivers.base import Notification, notification_title
from onexgen.alerting.receivers.http import JsonPoster
from onexgen.models.wire import AlertMessage, AlertStatus

__all__ = ["Slack", "slack_escape", "slack_message"]

MAX_ATTACHMENTS = 20
_COLOURS = {"critical": "#d62728", "warning": "#ff9f1c", "info": "#1f77b4"}
_RESOLVED = "#2ca02c"


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities (the only escaping Slack defines)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attachment(alert: AlertMessage, color: str) -> dict[str, Any]:
    resolved = alert.status is AlertStatus.RESOLVED
    summary = alert.annotations.get("summary", alert.rule)
    return {
        "color": color or (_RESOLVED if resolved else _COLOURS.get(alert.severity, "#7f7f7f")),
        "title": slack_escape(f"{'RESOLVED' if resolved else alert.severity.upper()}: "
                              f"{alert.rule}"),
        "text": slack_escape(summary),
        "fields": [
            {"title": "value", "value": f"{alert.value:g}", "short": True},
            {"title": "threshold",
             "value": slack_escape(f"{alert.comparison} {alert.threshold:g}"), "short": True},
            {"title": "since", "value": alert.starts_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
             "short": True},
            {"title": "fingerprint", "value": alert.fingerprint, "short": True},
        ],
        "footer": "onexgen",
        "ts": int(alert.starts_at.timestamp()),
    }


def slack_message(notification: Notification, *, channel: str = "", username: str = "",
                  title: str = "", text: str = "", title_link: str = "",
                  color: str = "") -> dict[str, Any]:
    alerts = list(notification.alerts)
    shown = alerts[:MAX_ATTACHMENTS]
    body = text or slack_escape(notification_title(notification))
    if len(alerts) > len(shown):
        body += f" (showing {len(shown)} of {len(alerts)})"
    attachments = [_attachment(a, color) for a in shown]
    if title and attachments:
        attachments[0] = {**attachments[0], "title": title}
    if title_link and attachments:
        attachments[0] = {**attachments[0], "title_link": title_link}
    message: dict[str, Any] = {"text": body, "username": username or "onexgen",
                               "attachments": attachments}
    if channel:
        message["channel"] = channel
    return message


class Slack:
    def __init__(self, name: str, config: SlackConfig, *, global_url: SecretStr | None = None,
                 global_url_file: Path | None = None,
                 global_http: HttpConfig | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self._config = config
        url, url_file = config.api_url, config.api_url_file
        if url is None and url_file is None:
            url, url_file = global_url, global_url_file
        self._poster = JsonPoster(name, url, url_file, 30.0, config.http_config or global_http)

    async def send(self, notification: Notification) -> None:
        c = self._config
        await self._poster.post(slack_message(
            notification, channel=c.channel, username=c.username, title=c.title, text=c.text,
            title_link=c.title_link, color=c.color))

    async def close(self) -> None:
        await self._poster.close()
