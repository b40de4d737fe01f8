"""The alert-manager's decisions: routing, grouping timers, dedup, muting, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.extras import Extras
from onexgen.alerting.manager import AlertManager
from onexgen.alerting.receivers.base import Notification
from onexgen.alerting.routing import build_tree, match_routes
from onexgen.alerting.silences import SilenceSet, new_silence
from tests.unit.alerting.conftest import FakeClock, make_alert, manager_config


def _manager(clock: FakeClock, extras: dict[str, Any] | None = None,
             **overrides: Any) -> tuple[AlertManager, list[Notification]]:
    sent: list[Notification] = []
    config = ManagerConfig.model_validate(manager_config(**overrides))
    return AlertManager(config, sent.append, clock=clock,
                        extras=Extras.model_validate(extras or {})), sent


def test_match_routes_continue_reaches_later_siblings() -> None:
    config = ManagerConfig.model_validate(manager_config(route={
        "receiver": "ops",
        "routes": [
            {"receiver": "pager", "matchers": ["severity=critical"], "continue": True},
            {"receiver": "quiet", "matchers": ["service=~onex.*"]},
            {"receiver": "ops", "matchers": ["service=onexgen"]},  # never: quiet matched first
        ]}))
    tree = build_tree(config.route)
    critical = [n.receiver for n in match_routes(tree, {"severity": "critical",
                                                        "service": "onexgen"})]
    assert critical == ["pager", "quiet"]
    assert [n.receiver for n in match_routes(tree, {"severity": "warning"})] == ["ops"]
    assert tree.children[0].group_wait_s == 30.0  # inherited default


def test_flush_waits_group_wait_then_notifies_once(clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    manager.ingest(make_alert("cache_low"))
    assert manager.flush() == []
    clock.advance(1)
    assert len(manager.flush()) == 1
    for _ in range(10):  # 10 group intervals (50 s) < repeat interval (60 s)
        clock.advance(5)
        manager.ingest(make_alert("cache_low"))  # the monitor's keep-alive re-send
        manager.flush()
    assert len(sent) == 1
    clock.advance(11)
    manager.flush()
    assert len(sent) == 2  # repeat_interval passed


def test_flush_groups_alerts_of_one_alertname(clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    manager.ingest(make_alert("cache_low", instance="a"))
    manager.ingest(make_alert("cache_low", instance="b"))
    manager.ingest(make_alert("latency_high", instance="a"))
    clock.advance(1)
    manager.flush()
    sizes = sorted(len(n.alerts) for n in sent)
    assert sizes == [1, 2]


def test_resolved_alert_notified_when_receiver_wants_it(clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    manager.ingest(make_alert("cache_low"))
    clock.advance(1)
    manager.flush()
    manager.ingest(make_alert("cache_low", status="resolved"))
    clock.advance(5)
    manager.flush()
    assert [n.status for n in sent] == ["firing", "resolved"]
    assert manager.groups == {}


def test_resolved_alert_not_notified_to_receiver_without_send_resolved(clock: FakeClock) -> None:
    manager, sent = _manager(clock, route={"receiver": "quiet", "group_wait": "0s"})
    manager.ingest(make_alert("cache_low"))
    manager.flush()
    manager.ingest(make_alert("cache_low", status="resolved"))
    clock.advance(400)
    manager.flush()
    assert [n.status for n in sent] == ["firing"]


def test_silenced_alert_produces_no_notification_even_resolved(clock: FakeClock) -> None:
    silences = SilenceSet([new_silence(["alertname=cache_low"], timedelta(hours=1),
                                       comment="known", created_by="test",
                                       now=datetime.fromtimestamp(clock.now - 1, UTC))])
    sent: list[Notification] = []
    config = ManagerConfig.model_validate(manager_config())
    manager = AlertManager(config, sent.append, clock=clock, silences=silences)
    manager.ingest(make_alert("cache_low"))
    clock.advance(2)
    manager.flush()
    manager.ingest(make_alert("cache_low", status="resolved"))
    clock.advance(6)
    manager.flush()
    assert sent == []


def test_critical_inhibits_warning_on_same_metric(clock: FakeClock) -> None:
    manager, sent = _manager(clock, inhibit_rules=[{
        "source_matchers": ["severity=critical"], "target_matchers": ["severity=warning"],
        "equal": ["metric"]}])
    manager.ingest(make_alert("cache_low", severity="warning"))
    manager.ingest(make_alert("cache_critical", severity="critical"))
    manager.ingest(make_alert("latency_high", severity="warning", metric="latency"))
    clock.advance(1)
    manager.flush()
    notified = sorted(a.rule for n in sent for a in n.alerts)
    assert notified == ["cache_critical", "latency_high"]


def test_mute_time_interval_holds_route_until_interval_ends(clock: FakeClock) -> None:
    now = datetime.fromtimestamp(clock.now, UTC)  # 2023-11-14 22:13 UTC, a Tuesday
    window = {"start_time": f"{now.hour:02d}:00", "end_time": f"{now.hour + 1:02d}:00"}
    manager, sent = _manager(clock, time_intervals=[{
        "name": "upgrade", "time_intervals": [{"weekdays": ["tuesday"], "times": [window]}]}],
        route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "1s",
               "group_interval": "5s", "repeat_interval": "1m",
               "routes": [{"matchers": ["alertname=cache_low"],
                           "mute_time_intervals": ["upgrade"]}]})
    manager.ingest(make_alert("cache_low"))
    manager.ingest(make_alert("other"))
    clock.advance(1)
    manager.flush()
    assert [a.rule for n in sent for a in n.alerts] == ["other"]
    clock.now = now.replace(hour=now.hour + 1, minute=0).timestamp()  # interval over
    manager.ingest(make_alert("cache_low"))
    manager.flush()
    assert "cache_low" in [a.rule for n in sent[1:] for a in n.alerts]


def test_escalation_after_delay_to_policy_receiver(clock: FakeClock) -> None:
    manager, sent = _manager(clock, extras={"escalations": [{
        "name": "crit-10s", "matchers": ["severity=critical"], "after": "10s",
        "receiver": "pager"}]})
    manager.ingest(make_alert("cache_critical", severity="critical", starts_at=clock.now))
    clock.advance(1)
    manager.flush()
    clock.advance(10)
    manager.ingest(make_alert("cache_critical", severity="critical", starts_at=clock.now - 11))
    manager.flush()
    escalated = [n for n in sent if n.kind == "escalation"]
    assert [n.receiver for n in escalated] == ["pager"]
    manager.ingest(make_alert("cache_critical", severity="critical", status="resolved",
                              starts_at=clock.now - 11))
    manager.flush()
    assert [n.status for n in sent if n.kind == "escalation"] == ["firing", "resolved"]


def test_ingest_duplicate_and_stale_resolve_change_nothing(clock: FakeClock) -> None:
    manager, _ = _manager(clock)
    assert manager.ingest(make_alert("cache_low")) is True
    assert manager.ingest(make_alert("cache_low")) is False
    assert manager.ingest(make_alert("other", status="resolved")) is False


def test_firing_alert_not_resent_resolves_after_timeout(clock: FakeClock) -> None:
    manager, sent = _manager(clock, **{"global": {"resolve_timeout": "30s"}})
    manager.ingest(make_alert("cache_low"))
    clock.advance(1)
    manager.flush()
    clock.advance(31)
    manager.flush()
    assert [n.status for n in sent] == ["firing", "resolved"]


@pytest.mark.parametrize("bad", [
    {"route": {"receiver": "nobody"}},
    {"route": {"receiver": "ops", "matchers": ["no operator"]}},
    {"route": {"receiver": "ops", "group_wait": 30}},
    {"route": {"receiver": "ops", "dedup_window_s": 30}},
])
def test_config_invalid_reference_or_matcher_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ManagerConfig.model_validate(manager_config(**bad))
