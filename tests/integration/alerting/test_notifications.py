"""Evidence: rule breach -> Kafka -> alert-manager -> real webhook, Slack and SMTP receivers."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from onexgen.alerting.matchers import fingerprint
from onexgen.alerting.silences import new_silence
from onexgen.models.wire import AlertMessage, AlertStatus, dump_json
from tests.harness.receivers import wait_until
from tests.integration.alerting.conftest import AlertStack

pytestmark = pytest.mark.integration

RECEIVERS = ("hook", "slack", "mail")


async def _hold(stack: AlertStack, hit_rate: float, seconds: float) -> None:
    """Report cache lookups at ``hit_rate`` for ``seconds`` (the rules need it sustained)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hits = round(100 * hit_rate)
        stack.monitor.observe_cache("render", hits, 100 - hits)
        await asyncio.sleep(0.05)


def _breach(stack: AlertStack, hit_rate: float) -> asyncio.Task[None]:
    return asyncio.create_task(_hold(stack, hit_rate, 3600))


async def test_breached_rule_notifies_each_receiver_once_then_resolved(
        alert_stack: AlertStack) -> None:
    stack = alert_stack
    feeder = _breach(stack, 0.65)  # below 0.7 (warning), above 0.6 (critical)
    try:
        await wait_until(lambda: all(stack.statuses(r) == ["firing"] for r in RECEIVERS), 15,
                         "one firing notification on webhook, Slack and e-mail")
        body = stack.notifications("hook")[0]
        assert body["version"] == "4" and body["alerts"][0]["labels"]["alertname"] == \
            "cache_hit_rate_low"
        assert stack.notifications("slack")[0]["channel"] == "#t"
        # the monitor re-sends every 0.5 s and groups flush every 0.3 s: nothing may repeat
        # inside repeat_interval (1 h); watch for several resend and flush periods
        resends = len(stack.consumed)
        await wait_until(lambda: len(stack.consumed) >= resends + 4, 10,
                         "four keep-alive re-sends of the firing alert on the topic")
        assert all(stack.statuses(r) == ["firing"] for r in RECEIVERS)
    finally:
        feeder.cancel()
    # the ratio window is 300 s: feeding good lookups lifts it back above 0.7
    healer = asyncio.create_task(_hold(stack, 1.0, 3600))
    try:
        await wait_until(lambda: all(stack.statuses(r) == ["firing", "resolved"]
                                     for r in RECEIVERS), 20, "a resolved notification on each")
    finally:
        healer.cancel()
    topic_statuses = [json.loads(v)["status"] for v in stack.consumed]
    assert topic_statuses[0] == "firing" and topic_statuses[-1] == "resolved"


async def test_silenced_alert_produces_no_notification(alert_stack: AlertStack) -> None:
    stack = alert_stack
    await stack.silences.create(new_silence(
        ["alertname=~cache_hit_rate_.*"], timedelta(hours=1), comment="test", created_by="t",
        now=datetime.now(UTC) - timedelta(seconds=1)))
    await wait_until(lambda: bool(stack.service.manager.silences.active(datetime.now(UTC))), 5,
                     "the silence to be loaded from Postgres")
    feeder = _breach(stack, 0.65)
    try:
        await wait_until(lambda: any(json.loads(v)["status"] == "firing"
                                     for v in stack.consumed), 15, "the alert on the topic")
        groups = stack.service.manager.groups
        await wait_until(lambda: len(groups) >= 3 and all(g.flushes >= 3
                                                          for g in groups.values()), 10,
                         "three flushes of each receiver's group (each decides not to notify)")
    finally:
        feeder.cancel()
    assert all(stack.notifications(r) == [] for r in RECEIVERS)


async def test_critical_alert_inhibits_matching_warning(alert_stack: AlertStack) -> None:
    stack = alert_stack
    feeder = _breach(stack, 0.3)  # both cache rules breach
    try:
        await wait_until(lambda: len(stack.notifications("hook")) >= 1, 15,
                         "a webhook notification")
        await wait_until(lambda: {json.loads(v)["rule"] for v in stack.consumed} >= {
            "cache_hit_rate_low", "cache_hit_rate_critical"}, 10, "both alerts on the topic")
        groups = stack.service.manager.groups
        floor = {key: g.flushes for key, g in groups.items()}
        await wait_until(lambda: all(g.flushes >= floor.get(key, 0) + 2
                                     for key, g in groups.items()), 5,
                         "every group to flush twice more with both alerts in")
    finally:
        feeder.cancel()
    rules = [a["labels"]["alertname"] for b in stack.notifications("hook") for a in b["alerts"]]
    assert "cache_hit_rate_critical" in rules
    assert "cache_hit_rate_low" not in rules


async def test_receiver_down_gets_notification_after_coming_back(
        alert_stack: AlertStack) -> None:
    stack = alert_stack
    stack.http.down = True
    feeder = _breach(stack, 0.65)
    try:
        await wait_until(lambda: stack.http.refused >= 3, 15,
                         "three refused deliveries while the HTTP receivers are down")
        await wait_until(lambda: stack.statuses("mail") == ["firing"], 10,
                         "e-mail to go out meanwhile (receivers are independent)")
        assert stack.notifications("hook") == [] and stack.notifications("slack") == []
        stack.http.down = False
        await wait_until(lambda: stack.statuses("hook") == ["firing"]
                         and stack.statuses("slack") == ["firing"], 10,
                         "the queued notifications once the receiver is back")
    finally:
        feeder.cancel()


async def test_poison_email_skipped_and_recorded_later_mail_delivered(
        alert_stack: AlertStack) -> None:
    stack = alert_stack
    poison_labels = {"alertname": "bad\r\nBcc: someone@evil", "severity": "warning",
                     "metric": "m", "service": "onexgen"}
    good_labels = {**poison_labels, "alertname": "good_alert"}
    for labels in (poison_labels, good_labels):  # the poison one is queued first
        stack.service.handle(dump_json(AlertMessage(
            fingerprint=fingerprint(labels), rule=labels["alertname"],
            status=AlertStatus.FIRING, severity="warning", metric="m", value=1.0,
            threshold=0.5, comparison=">", labels=labels, annotations={},
            starts_at=datetime.now(UTC))))
    await wait_until(lambda: any("good_alert" in n["subject"]
                                 for n in stack.notifications("mail")), 10,
                     "the good alert's e-mail, behind the poison one")
    failed = [f for f in stack.service.delivery.failed if f.integration == "mail/email/0"]
    assert len(failed) == 1 and failed[0].attempts == 1
    assert failed[0].notification.alerts[0].rule == poison_labels["alertname"]
    assert "cannot build" in failed[0].error
    assert stack.service.delivery.pending() == 0
    metrics = stack.service.metrics
    assert metrics is not None
    assert metrics.registry.get_sample_value("onexgen_notifications_total", {
        "receiver": "mail/email/0", "outcome": "failed"}) == 1
