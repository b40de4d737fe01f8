"""Notification channels of the alert-manager: webhook, Slack and e-mail integrations, and log.

:func:`build_receivers` turns the ``receivers`` of the Alertmanager file into
live channels. As in Alertmanager, each ``*_configs`` entry is its own
integration, named ``<receiver>/<kind>/<index>`` (``ops/webhook/0``), with its
own queue and its own ``send_resolved``; a notification for a receiver goes to
each of its integrations. A receiver without integrations (Alertmanager's
"blackhole") gets the log channel, so an alert routed there still leaves one
structured log line.
"""

from __future__ import annotations

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.receivers.base import Notification, Receiver
from onexgen.alerting.receivers.email import Email
from onexgen.alerting.receivers.log import LogReceiverChannel
from onexgen.alerting.receivers.slack import Slack
from onexgen.alerting.receivers.webhook import Webhook

__all__ = ["Notification", "Receiver", "build_receivers"]


def build_receivers(config: ManagerConfig) -> tuple[dict[str, Receiver], dict[str, list[str]]]:
    """``(integration name -> channel, receiver name -> its integration names)``."""
    channels: dict[str, Receiver] = {}
    fanout: dict[str, list[str]] = {}
    g = config.global_
    for spec in config.receivers:
        names: list[str] = []
        for i, hook in enumerate(spec.webhook_configs):
            names.append(f"{spec.name}/webhook/{i}")
            channels[names[-1]] = Webhook(names[-1], hook, global_http=g.http_config)
        for i, slack in enumerate(spec.slack_configs):
            names.append(f"{spec.name}/slack/{i}")
            channels[names[-1]] = Slack(names[-1], slack, global_url=g.slack_api_url,
                                        global_url_file=g.slack_api_url_file,
                                        global_http=g.http_config)
        for i, email in enumerate(spec.email_configs):
            names.append(f"{spec.name}/email/{i}")
            channels[names[-1]] = Email(names[-1], email, g)
        if not names:
            names.append(f"{spec.name}/log")
            channels[names[-1]] = LogReceiverChannel(names[-1])
        fanout[spec.name] = names
    return channels, fanout
