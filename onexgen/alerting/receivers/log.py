"""Log receiver: one structured line per notification, at WARNING for firing alerts.

Always available (no network), so the default route can end here and an
alert is never only in Kafka. The line carries what a person needs to act -
rules, severities, values, thresholds, fingerprints - as JSON fields that a
log pipeline can alert on in turn.
"""

from __future__ import annotations

import structlog

from onexgen.alerting.receivers.base import Notification, notification_title

__all__ = ["LogReceiverChannel"]

log = structlog.get_logger("onexgen.alerts.notify")


class LogReceiverChannel:
    def __init__(self, name: str, *, send_resolved: bool = True) -> None:
        self.name = name
        self.send_resolved = send_resolved

    async def send(self, notification: Notification) -> None:
        alerts = [{"rule": a.rule, "status": a.status.value, "severity": a.severity,
                   "value": a.value, "threshold": a.threshold, "comparison": a.comparison,
                   "fingerprint": a.fingerprint} for a in notification.alerts]
        method = log.warning if notification.status == "firing" else log.info
        method("alert_notification", title=notification_title(notification),
               receiver=self.name, group_key=notification.group_key,
               kind=notification.kind, status=notification.status, alerts=alerts)

    async def close(self) -> None:
        """Nothing to release."""
