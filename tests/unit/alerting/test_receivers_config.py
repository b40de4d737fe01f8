"""Receiver payloads as Alertmanager builds them, Slack escaping, poison e-mail, page."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from onexgen.alerting.config import (
    EmailConfig,
    GlobalConfig,
    ManagerConfig,
    parse_manager_config,
)
from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.manager import AlertManager
from onexgen.alerting.receivers.base import Notification, am_fingerprint, am_sorted
from onexgen.alerting.receivers.email import Email, build_email
from onexgen.alerting.receivers.slack import slack_message
from onexgen.alerting.receivers.webhook import alertmanager_payload
from onexgen.dashboard.routes import dashboard_html
from tests.unit.alerting.conftest import make_alert, manager_config


def _note(*alerts: Any) -> Notification:
    alerts = alerts or (make_alert("cache_low", instance="a"),
                        make_alert("cache_low", instance="b", status="resolved"))
    return Notification("hook", '{}:{alertname="cache_low"}', {"alertname": "cache_low"},
                        tuple(alerts), time.time(), external_url="http://w:6066")


def test_alertmanager_payload_has_v4_fields() -> None:
    body = alertmanager_payload(_note(), max_alerts=1)
    assert body["version"] == "4" and body["status"] == "firing"
    assert set(body) == {"version", "groupKey", "truncatedAlerts", "status", "receiver",
                         "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                         "alerts"}
    assert body["truncatedAlerts"] == 1 and len(body["alerts"]) == 1
    alert = body["alerts"][0]
    assert alert["endsAt"] == "0001-01-01T00:00:00Z" and alert["startsAt"].endswith("Z")
    assert alert["fingerprint"] == am_fingerprint(alert["labels"])
    assert body["commonLabels"]["alertname"] == "cache_low"


def test_alertmanager_payload_truncates_before_common_fields() -> None:
    # Alertmanager truncates first: what is cut counts neither for status nor common labels
    resolved = make_alert("cache_low", instance="a", status="resolved")
    firing = make_alert("cache_low", instance="b")
    body = alertmanager_payload(_note(resolved, firing), max_alerts=1)
    assert body["status"] == "resolved"
    assert body["commonLabels"]["instance"] == "a"
    assert body["commonAnnotations"]["value"] == "0.5"  # per-alert value is common to the one


def test_alertmanager_payload_receiver_quoted_as_go_quotemeta() -> None:
    note = Notification("ops.hook+1", "k", {}, (make_alert("x"),), time.time())
    assert alertmanager_payload(note)["receiver"] == "ops\\.hook\\+1"


def test_group_labels_omit_labels_the_alerts_lack(clock: Any) -> None:
    config = ManagerConfig.model_validate(manager_config(route={
        "receiver": "ops", "group_by": ["alertname", "cluster"], "group_wait": "0s"}))
    sent: list[Notification] = []
    manager = AlertManager(config, sent.append, clock=clock)
    manager.ingest(make_alert("cache_low"))
    manager.flush()
    body = alertmanager_payload(sent[0])
    assert body["groupLabels"] == {"alertname": "cache_low"}
    assert body["groupKey"] == '{}:{alertname="cache_low"}'


def test_am_fingerprint_matches_alertmanager_for_known_labels() -> None:
    # FNV-1a 64 of the empty set is the offset basis, Alertmanager's emptyLabelSignature
    assert am_fingerprint({}) == "cbf29ce484222325"
    assert am_fingerprint({"a": "1", "b": "2"}) == am_fingerprint({"b": "2", "a": "1"})
    assert am_fingerprint({"a": "1"}) != am_fingerprint({"a": "2"})


def test_am_sorted_orders_by_instance_then_labels() -> None:
    b, a = make_alert("x", instance="b"), make_alert("x", instance="a")
    plain = make_alert("x")
    assert [x.labels.get("instance") for x in am_sorted([plain, b, a])] == ["a", "b", None]


def test_slack_message_escapes_alert_text() -> None:
    alert = make_alert("x").model_copy(update={
        "annotations": {"summary": "<!channel> see <https://evil|here> & more"}})
    message: dict[str, Any] = slack_message(_note(alert), channel="#ops")
    text = message["attachments"][0]["text"]
    assert text == "&lt;!channel&gt; see &lt;https://evil|here&gt; &amp; more"
    assert "<" not in json.dumps(message)


def test_slack_message_and_email_carry_title() -> None:
    message: dict[str, Any] = slack_message(_note(), channel="#ops")
    assert message["text"].startswith("[FIRING:1] cache_low")
    assert message["channel"] == "#ops" and len(message["attachments"]) == 2
    mail = build_email(_note(), sender="a@x", to=["b@x"])
    assert mail["Subject"] == message["text"]
    assert "cache_low" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # plain part exists


def test_config_secret_never_shown() -> None:
    config = parse_manager_config(
        "route: {receiver: hook}\nreceivers:\n- name: hook\n  webhook_configs:\n"
        "  - url: https://hooks.example/s3cr3t\n")
    hook = config.receivers[0].webhook_configs[0]
    assert "s3cr3t" not in repr(config) and "s3cr3t" not in str(hook)


async def test_email_poison_notification_is_permanent_error() -> None:
    channel = Email("mail/email/0", EmailConfig.model_validate(
        {"to": "a@x", "from": "b@x", "smarthost": "127.0.0.1:9"}), GlobalConfig())
    poison = make_alert("bad\r\nBcc: x@evil")
    note = Notification("mail", "k", {"alertname": poison.rule}, (poison,), time.time())
    with pytest.raises(DeliveryError) as caught:
        await channel.send(note)
    assert caught.value.retryable is False and "cannot build" in str(caught.value)


def test_dashboard_html_snapshot_embedded_safely() -> None:
    page = dashboard_html({"note": "</script><b>x"})
    assert "window.DASHBOARD_SNAPSHOT" in page and "</script><b>" not in page
