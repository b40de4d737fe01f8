"""Evidence against a real Alertmanager: the hand-off, the payload, inhibition.

* The hand-off (:class:`AlertmanagerHandoff`, what ``ONEXGEN_ALERTMANAGER_URL``
  turns on) posts an alert to a real Alertmanager, which delivers it to a local
  webhook; the built-in notifier, given the *same* Alertmanager-format file,
  builds a payload with the same fields and values (``endsAt`` and
  ``externalURL`` aside: Alertmanager writes its own expiry and URL there).
  Clearing the alert resolves it at the webhook too.
* Inhibition: the same alerts are posted to Alertmanager and given to onexgen's
  inhibitor; which ones Alertmanager reports as ``inhibitedBy`` something must be
  exactly the ones onexgen mutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onexgen.alerting.config import parse_manager_config
from onexgen.alerting.extras import Extras
from onexgen.alerting.handoff import AlertmanagerHandoff
from onexgen.alerting.manager import AlertManager
from onexgen.alerting.matchers import fingerprint
from onexgen.alerting.muting import Inhibitor
from onexgen.alerting.receivers.base import Notification
from onexgen.alerting.receivers.webhook import alertmanager_payload
from onexgen.models.wire import AlertMessage, AlertStatus, dump_json
from tests.harness.alertmanager import AlertmanagerProcess
from tests.harness.receivers import HttpSink, wait_until

pytestmark = pytest.mark.integration

CONFIG = """
route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: true
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [metric, cluster]
  - source_match: {{service: onexgen}}
    target_match_re: {{service: "onex.*"}}
"""


def _alert(status: AlertStatus = AlertStatus.FIRING, *, labels: dict[str, str] | None = None
           ) -> AlertMessage:
    full = {"alertname": "cache_hit_rate_low", "severity": "warning",
            "metric": "cache_hit_rate", "instance": "w1:6066", **(labels or {})}
    starts = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    return AlertMessage(fingerprint=fingerprint(full), rule=full["alertname"], status=status,
                        severity=full["severity"], metric=full["metric"], value=0.65,
                        threshold=0.7, comparison="<", labels=full,
                        annotations={"summary": "hit rate low"}, starts_at=starts,
                        ends_at=starts + timedelta(minutes=1)
                        if status is AlertStatus.RESOLVED else None)


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    http = HttpSink()
    await http.start()
    yield http
    await http.stop()


@pytest.fixture
def alertmanager(sink: HttpSink) -> Iterator[AlertmanagerProcess]:
    process = AlertmanagerProcess(CONFIG.format(url=sink.url("/am")))
    process.start()
    yield process
    process.stop()


def _builtin_payload(sink: HttpSink, alert: AlertMessage, external_url: str) -> dict[str, Any]:
    config = parse_manager_config(CONFIG.format(url=sink.url("/builtin")))
    sent: list[Notification] = []
    now = datetime.now(UTC).timestamp()
    manager = AlertManager(config, sent.append, clock=lambda: now,
                           extras=Extras(external_url=external_url))
    manager.ingest(alert)
    manager.flush(now)
    assert len(sent) == 1
    return alertmanager_payload(sent[0])


async def test_handoff_reaches_real_alertmanager_payload_matches_builtin(
        alertmanager: AlertmanagerProcess, sink: HttpSink) -> None:
    handoff = AlertmanagerHandoff(alertmanager.url, resend_s=5,
                                  external_url="http://worker:6066")
    firing = _alert()
    assert handoff.handle(dump_json(firing)) is True
    assert await handoff.tick() == 1
    await wait_until(lambda: len(sink.bodies("/am")) >= 1, 15,
                     "Alertmanager's webhook notification")
    theirs = sink.bodies("/am")[0]
    ours = _builtin_payload(sink, firing, "http://worker:6066")
    assert set(theirs) == set(ours)
    for key in ("receiver", "status", "groupLabels", "commonLabels", "commonAnnotations",
                "version", "groupKey", "truncatedAlerts"):
        assert theirs[key] == ours[key], key
    assert len(theirs["alerts"]) == len(ours["alerts"]) == 1
    for key in ("status", "labels", "annotations", "startsAt", "generatorURL", "fingerprint"):
        assert theirs["alerts"][0][key] == ours["alerts"][0][key], key
    # cleared: the hand-off posts the end, Alertmanager resolves it at the webhook
    assert handoff.handle(dump_json(_alert(AlertStatus.RESOLVED))) is True
    assert await handoff.tick() == 1
    await wait_until(lambda: any(b["status"] == "resolved" for b in sink.bodies("/am")), 15,
                     "the resolved notification")
    resolved = next(b for b in sink.bodies("/am") if b["status"] == "resolved")
    assert resolved["alerts"][0]["endsAt"] == "2026-01-02T03:05:05.12Z"
    await handoff.stop()


async def test_handoff_reposts_while_firing_and_survives_alertmanager_down(
        sink: HttpSink) -> None:
    process = AlertmanagerProcess(CONFIG.format(url=sink.url("/am")))
    clock = [datetime.now(UTC).timestamp()]
    handoff = AlertmanagerHandoff(process.url, resend_s=5, clock=lambda: clock[0])
    handoff.handle(dump_json(_alert()))
    assert await handoff.tick() == 0  # not started yet: the post fails, nothing lost
    process.start()
    try:
        assert await handoff.tick() == 1
        assert await handoff.tick() == 0  # nothing new, resend period not over
        clock[0] += 5
        assert await handoff.tick() == 1  # re-posted while firing
        held = process.alerts()
        assert [a["labels"]["alertname"] for a in held] == ["cache_hit_rate_low"]
        assert held[0]["status"]["state"] == "active"
    finally:
        process.stop()
        await handoff.stop(drain_timeout_s=0.5)


CASES: list[dict[str, str]] = [
    {"alertname": "a1", "severity": "critical", "metric": "m1", "service": "x"},
    {"alertname": "a2", "severity": "warning", "metric": "m1", "service": "x"},  # inhibited
    {"alertname": "a3", "severity": "warning", "metric": "m2", "service": "x"},
    {"alertname": "a4", "severity": "warning", "metric": "m1", "cluster": "c1",
     "service": "x"},  # cluster differs from a1 (absent there): not inhibited
    {"alertname": "b1", "service": "onexgen"},  # both sides of rule 2: not by b2
    {"alertname": "b2", "service": "onexgen"},
    {"alertname": "b3", "service": "onexgenx"},  # target only: inhibited by b1/b2
]


async def test_inhibition_decisions_equal_real_alertmanager(
        alertmanager: AlertmanagerProcess, sink: HttpSink) -> None:
    config = parse_manager_config(CONFIG.format(url=sink.url("/x")))
    starts = datetime.now(UTC)
    alertmanager.post([{"labels": labels, "startsAt": starts.isoformat()} for labels in CASES])
    messages = [_alert(labels=labels).model_copy(update={"labels": labels,
                                                          "fingerprint": fingerprint(labels)})
                for labels in CASES]  # exactly the label sets Alertmanager got
    inhibitor = Inhibitor(config.inhibit_rules)
    ours = {m.labels["alertname"] for m in messages if inhibitor.inhibited(m, messages)}
    assert ours == {"a2", "b3"}

    def theirs() -> set[str]:
        return {a["labels"]["alertname"] for a in alertmanager.alerts()
                if a["status"]["inhibitedBy"]}

    await wait_until(lambda: theirs() == ours, 10,
                     f"Alertmanager to inhibit exactly {sorted(ours)}")
    await asyncio.sleep(0)
