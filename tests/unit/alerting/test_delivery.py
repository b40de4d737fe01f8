"""The delivery queue: bounded retries, poison parked, per-integration send_resolved."""

from __future__ import annotations

import time

from onexgen.alerting.delivery import DeliveryQueue
from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.receivers.base import Notification
from tests.unit.alerting.conftest import make_alert


class Flaky:
    """Refuses (retryably) every notification whose alert is named ``down``."""

    def __init__(self, name: str, *, send_resolved: bool = True) -> None:
        self.name = name
        self.send_resolved = send_resolved
        self.attempts: list[str] = []
        self.taken: list[Notification] = []

    async def send(self, notification: Notification) -> None:
        rule = notification.alerts[0].rule
        self.attempts.append(rule)
        if rule == "down":
            raise DeliveryError("connection refused; will retry")
        self.taken.append(notification)

    async def close(self) -> None:
        """Nothing to close."""


def _note(rule: str, status: str = "firing") -> Notification:
    return Notification("ops", f"k-{rule}", {}, (make_alert(rule, status=status),),
                        time.time())


async def test_transient_failure_retried_up_to_bound_then_next_delivered() -> None:
    channel = Flaky("ops/webhook/0")
    queue = DeliveryQueue({channel.name: channel}, fanout={"ops": [channel.name]},
                          retry_initial_s=0.001, retry_max_s=0.002, retry_attempts=4)
    queue.start()
    queue.submit(_note("down"))
    queue.submit(_note("fine"))
    assert await queue.wait_idle(5)
    await queue.stop()
    assert channel.attempts == ["down"] * 4 + ["fine"]
    assert [n.alerts[0].rule for n in channel.taken] == ["fine"]
    assert [(f.integration, f.attempts) for f in queue.failed] == [(channel.name, 4)]


async def test_resolved_only_notification_skips_integration_without_send_resolved() -> None:
    wants, skips = Flaky("ops/webhook/0"), Flaky("ops/email/0", send_resolved=False)
    queue = DeliveryQueue({wants.name: wants, skips.name: skips},
                          fanout={"ops": [wants.name, skips.name]})
    queue.start()
    queue.submit(_note("a"))
    queue.submit(_note("a", status="resolved"))
    assert await queue.wait_idle(5)
    await queue.stop()
    assert [n.status for n in wants.taken] == ["firing", "resolved"]
    assert [n.status for n in skips.taken] == ["firing"]
