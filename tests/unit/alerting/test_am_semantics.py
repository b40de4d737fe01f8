"""Alertmanager semantics in isolation: durations, matcher parsing, inhibition, intervals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onexgen.alerting.config import InhibitRule
from onexgen.alerting.durations import format_duration, parse_duration
from onexgen.alerting.errors import DurationError, MatcherError
from onexgen.alerting.matchers import parse_matcher, parse_matchers
from onexgen.alerting.muting import Inhibitor
from onexgen.alerting.timeintervals import TimeInterval
from tests.unit.alerting.conftest import make_alert


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1h30m", 5400), ("500ms", 0.5),
                                               ("1w", 604_800), ("0", 0), ("1d2h", 93_600)])
def test_parse_duration_prometheus_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", 30, "1m1h", "1.5s", "", "5 m"])
def test_parse_duration_rejects_what_prometheus_rejects(text: object) -> None:
    with pytest.raises(DurationError, match="30s"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (0.5, 30, 90, 5400, 93_600):
        assert parse_duration(format_duration(seconds)) == seconds


def test_matcher_quoting_and_anchoring() -> None:
    assert parse_matcher('a="x\\"y"').value == 'x"y'
    assert parse_matcher("a=~cache.*").matches({"a": "cache_hit"})
    assert not parse_matcher("a=~cache.*").matches({"a": "xcache"})
    assert parse_matcher("a!~x|y").matches({})  # absent label reads as ""
    assert [m.name for m in parse_matchers(['{a="1,2", b!="3"}'])] == ["a", "b"]
    with pytest.raises(MatcherError, match="unescaped double quote"):
        parse_matcher('a="x"y"')


def _rule(**fields: object) -> Inhibitor:
    return Inhibitor([InhibitRule.model_validate(fields)])


def test_inhibit_equal_on_label_absent_from_both_sides_mutes() -> None:
    inhibitor = _rule(source_matchers=["severity=critical"],
                      target_matchers=["severity=warning"], equal=["cluster"])
    warning, critical = make_alert("w"), make_alert("c", severity="critical")
    assert inhibitor.inhibited(warning, [critical])
    other_cluster = make_alert("c", severity="critical", cluster="b")
    assert not inhibitor.inhibited(warning, [other_cluster])


def test_inhibit_two_sided_match_does_not_mute_each_other() -> None:
    inhibitor = _rule(source_match={"service": "onexgen"}, target_match_re={"service": "onex.*"})
    a, b = make_alert("a"), make_alert("b")  # both match source and target
    assert not inhibitor.inhibited(a, [a, b])


def test_time_interval_weekday_times_and_last_days() -> None:
    interval = TimeInterval.model_validate({"name": "t", "time_intervals": [{
        "weekdays": ["monday:friday"], "times": [{"start_time": "09:00", "end_time": "17:00"}],
        "days_of_month": ["-7:-1"], "location": "Europe/Berlin"}]})
    # Friday 2024-05-31 10:30 UTC = 12:30 in Berlin, last day of the month
    assert interval.contains(datetime(2024, 5, 31, 10, 30, tzinfo=UTC))
    assert not interval.contains(datetime(2024, 5, 31, 15, 30, tzinfo=UTC))  # 17:30 Berlin
    assert not interval.contains(datetime(2024, 5, 10, 10, 30, tzinfo=UTC))  # not last week
