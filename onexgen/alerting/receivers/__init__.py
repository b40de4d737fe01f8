"""Notification channels of the alert-manager: log, webhook, Slack, e-mail.

:func:`build_receivers` turns the receivers section of the alert-manager
config into live objects; a webhook or Slack receiver whose URL expanded to an
empty string is left out (and reported), so a route to it is a no-op on a
machine without that secret.
"""

from __future__ import annotations

from onexgen.alerting.config import (
    EmailReceiver,
    LogReceiver,
    ManagerConfig,
    SlackReceiver,
    WebhookReceiver,
)
from onexgen.alerting.receivers.base import Notification, Receiver
from onexgen.alerting.receivers.email import Email
from onexgen.alerting.receivers.log import LogReceiverChannel
from onexgen.alerting.receivers.slack import Slack
from onexgen.alerting.receivers.webhook import Webhook

__all__ = ["Notification", "Receiver", "build_receivers"]


def build_receivers(config: ManagerConfig) -> tuple[dict[str, Receiver], list[str]]:
    """``(name -> receiver, names of disabled receivers)``."""
    built: dict[str, Receiver] = {}
    disabled: list[str] = []
    for spec in config.receivers:
        if not spec.enabled:
            disabled.append(spec.name)
        elif isinstance(spec, LogReceiver):
            built[spec.name] = LogReceiverChannel(spec.name, send_resolved=spec.send_resolved)
        elif isinstance(spec, WebhookReceiver | SlackReceiver):
            if not spec.url.get_secret_value().strip():
                disabled.append(spec.name)
            elif isinstance(spec, WebhookReceiver):
                built[spec.name] = Webhook(spec)
            else:
                built[spec.name] = Slack(spec)
        elif isinstance(spec, EmailReceiver):
            built[spec.name] = Email(spec)
    return built, disabled
