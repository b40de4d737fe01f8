"""Receiver payloads, secret handling in the config, health budget, the dashboard page."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from onexgen.alerting.config import parse_manager_config
from onexgen.alerting.errors import ManagerConfigError
from onexgen.alerting.receivers.base import Notification
from onexgen.alerting.receivers.email import build_email
from onexgen.alerting.receivers.slack import slack_message
from onexgen.alerting.receivers.webhook import alertmanager_payload
from onexgen.dashboard.routes import dashboard_html
from onexgen.observability.health import HealthChecker
from tests.unit.alerting.conftest import make_alert

CONFIG = """
receivers:
  - {name: hook, type: webhook, url: "${HOOK_URL}"}
  - {name: chat, type: slack, url: "${SLACK_URL:-}"}
route: {receiver: hook}
"""


def _note() -> Notification:
    alerts = (make_alert("cache_low"), make_alert("cache_low", instance="b", status="resolved"))
    return Notification("hook", "0:alertname=cache_low", {"alertname": "cache_low"}, alerts,
                        time.time(), external_url="http://w:6066")


def test_alertmanager_payload_has_v4_fields() -> None:
    body = alertmanager_payload(_note(), max_alerts=1)
    assert body["version"] == "4" and body["status"] == "firing"
    assert set(body) == {"version", "groupKey", "truncatedAlerts", "status", "receiver",
                         "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                         "alerts"}
    assert body["truncatedAlerts"] == 1 and len(body["alerts"]) == 1
    alert = body["alerts"][0]
    assert alert["endsAt"] == "0001-01-01T00:00:00Z" and alert["startsAt"].endswith("Z")
    assert alert["fingerprint"] == _note().alerts[0].fingerprint
    assert body["commonLabels"]["alertname"] == "cache_low"


def test_slack_message_and_email_carry_title() -> None:
    message: dict[str, Any] = slack_message(_note(), channel="#ops")
    assert message["text"].startswith("[FIRING:1] cache_low")
    assert message["channel"] == "#ops" and len(message["attachments"]) == 2
    mail = build_email(_note(), sender="a@x", to=["b@x"])
    assert mail["Subject"] == message["text"]
    assert "cache_low" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # plain part exists


def test_config_secret_expanded_and_never_shown() -> None:
    config = parse_manager_config(CONFIG, environ={"HOOK_URL": "https://hooks/s3cr3t"})
    hook = config.receivers[0]
    assert "s3cr3t" not in repr(config) and "s3cr3t" not in str(hook)
    assert hook.url.get_secret_value() == "https://hooks/s3cr3t"  # type: ignore[union-attr]  # webhook receiver


def test_config_unset_variable_names_it() -> None:
    with pytest.raises(ManagerConfigError, match="HOOK_URL"):
        parse_manager_config(CONFIG, environ={})


async def test_health_hung_check_cut_off_within_budget() -> None:
    checker = HealthChecker(budget_s=0.1)

    async def hangs() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {}

    async def fine() -> dict[str, Any]:
        return {"answer": 42}

    checker.add("slow", hangs, timeout_s=1.0)
    checker.add("fast", fine)
    started = time.perf_counter()
    report = await checker.run()
    assert time.perf_counter() - started < 0.15
    assert report.status == "failed" and not report.ready
    checks = report.as_dict()["checks"]
    assert checks["slow"]["error"].startswith("no answer") and checks["fast"]["answer"] == 42


def test_dashboard_html_snapshot_embedded_safely() -> None:
    page = dashboard_html({"note": "</script><b>x"})
    assert "window.DASHBOARD_SNAPSHOT" in page and "</script><b>" not in page
