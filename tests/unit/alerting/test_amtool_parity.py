"""onexgen reads Alertmanager configs as Alertmanager does: checked against the real amtool.

Each config below is given to ``amtool check-config`` and to onexgen's loader;
both must accept it or both reject it (onexgen with a reason naming the place).
For the accepted ones, ``amtool config routes test`` and
``onexgen alerts routes test`` must name the same receivers, in the same order,
for every label set in ``LABEL_SETS``. amtool comes from Debian's
``prometheus-alertmanager`` package (``infra/system-deps.sh`` installs it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from onexgen.alerting.config import DEFAULT_MANAGER_FILE, load_manager_config
from onexgen.alerting.errors import ManagerConfigError
from onexgen.alerting.routing import build_tree, match_routes
from onexgen.cli import alerts

RECEIVERS = """
receivers:
  - name: default
  - name: a
  - name: b
  - name: c
    webhook_configs: [{url: "http://127.0.0.1:9/hook", max_alerts: 3}]
"""

ACCEPTED = {
    "continue_and_nesting": """
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: a
      matchers: ['severity="critical"']
      continue: true
      routes:
        - receiver: b
          matchers: ['team=~"db|cache"']
    - receiver: b
      matchers: ['service!="onexgen"', 'env=~"prod.*"']
    - receiver: c
      match: {service: onexgen}
      match_re: {instance: "w[0-9]+"}
""",
    "inheritance_and_group_all": """
route:
  receiver: a
  group_by: ['...']
  group_wait: 10s
  routes:
    - matchers: ['{severity="warning", team!~"ops|sre"}']
      continue: true
    - receiver: c
      group_by: [alertname, instance]
      group_interval: 1m30s
      routes:
        - matchers: [alertname=~".*cache.*"]
""",
    "quoting_and_escapes": r"""
route:
  receiver: default
  routes:
    - receiver: a
      matchers: ['summary="has, a comma"']
    - receiver: b
      matchers: ['path=~"/api/v[12]/.+"', 'quote="say \"hi\""']
    - receiver: c
      matchers: ['empty=""']
""",
    "time_intervals_and_inhibit": """
route:
  receiver: default
  routes:
    - receiver: a
      matchers: [severity=critical]
      mute_time_intervals: [nights]
      active_time_intervals: [weekdays]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [cluster]
  - source_match: {alertname: NodeDown}
    target_match_re: {alertname: "Node.+"}
time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: "22:00", end_time: "24:00"}]
        location: Europe/Berlin
  - name: weekdays
    time_intervals:
      - weekdays: ["monday:friday"]
        days_of_month: ["1:10", "-3:-1"]
        months: ["january:march", "12"]
        years: ["2024:2030"]
""",
    "global_email_slack": """
global:
  resolve_timeout: 2m
  smtp_smarthost: mail.example:587
  smtp_from: am@example
  slack_api_url: https://hooks.slack.example/T0/B0/x
route:
  receiver: mail
  repeat_interval: 3h
receivers:
  - name: mail
    email_configs:
      - to: "a@example, b@example"
        headers: {Subject: "onexgen alert"}
        require_tls: false
    slack_configs:
      - channel: "#ops"
        send_resolved: true
        title: "onexgen"
""",
}

REJECTED = {
    "undefined_receiver": ("route:\n  receiver: nobody\n", "undefined receiver"),
    "root_matchers": ("route:\n  receiver: a\n  matchers: [x=y]\n", "root route must not"),
    "numeric_duration": ("route:\n  receiver: a\n  group_wait: 30\n", "group_wait"),
    "unknown_field": ("route:\n  receiver: a\n  dedup_window_s: 30\n", "dedup_window_s"),
    "bad_matcher": ("route:\n  receiver: a\n  routes:\n    - matchers: ['sev critical']\n",
                    "does not parse"),
    "wildcard_and_labels": ("route:\n  receiver: a\n  group_by: ['...', alertname]\n",
                            "wildcard"),
    "undefined_interval": ("route:\n  receiver: a\n  routes:\n    - receiver: b\n"
                           "      mute_time_intervals: [never]\n", "undefined time interval"),
    "webhook_without_url": ("route:\n  receiver: a\nreceivers:\n  - name: a\n"
                            "    webhook_configs: [{send_resolved: true}]\n", "url"),
    "email_without_smarthost": ("route:\n  receiver: a\nreceivers:\n  - name: a\n"
                                "    email_configs: [{to: x@y, from: a@b}]\n", "smarthost"),
    "bad_time": ("route:\n  receiver: a\ntime_intervals:\n  - name: t\n    time_intervals:\n"
                 "      - times: [{start_time: '25:00', end_time: '26:00'}]\n", "HH:MM"),
    "continue_on_root": ("route:\n  receiver: a\n  continue: true\n", "continue in root"),
}

LABEL_SETS = [
    {"severity": "critical", "team": "db"},
    {"severity": "critical", "team": "web", "service": "x", "env": "prod-eu"},
    {"severity": "warning", "service": "onexgen", "instance": "w12"},
    {"severity": "warning", "service": "onexgen", "instance": "x12"},
    {"severity": "warning", "team": "ops", "alertname": "cache_low"},
    {"alertname": "hit_cache_rate", "severity": "info"},
    {"summary": "has, a comma"},
    {"path": "/api/v2/items", "quote": 'say "hi"'},
    {"empty": ""},
    {"empty": "no"},
    {},
]


def _amtool() -> str:
    found = shutil.which("amtool")
    if found is None:
        pytest.fail("amtool not found: `apt-get install -y prometheus-alertmanager` "
                    "(infra/system-deps.sh installs it when run as root)")
    return found


def _write(tmp_path: Path, name: str, route: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(route if "receivers:" in route else route + RECEIVERS)
    return path


def _amtool_accepts(path: Path) -> bool:
    done = subprocess.run([_amtool(), "check-config", str(path)], capture_output=True,
                          text=True, timeout=30, check=False)
    return done.returncode == 0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _amtool_routes(path: Path, labels: dict[str, str]) -> str:
    args = [f'{k}="{_escape(v)}"' for k, v in labels.items()]
    done = subprocess.run([_amtool(), "config", "routes", "test", f"--config.file={path}",
                           *args], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_shipped_config_passes_amtool_and_onexgen() -> None:
    assert _amtool_accepts(DEFAULT_MANAGER_FILE)
    load_manager_config(DEFAULT_MANAGER_FILE)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_config_amtool_accepts_onexgen_loads_and_routes_alike(tmp_path: Path,
                                                              name: str) -> None:
    path = _write(tmp_path, name, ACCEPTED[name])
    assert _amtool_accepts(path), f"{name}: amtool rejects the fixture itself"
    tree = build_tree(load_manager_config(path).route)
    for labels in LABEL_SETS:
        ours = ",".join(node.receiver for node in match_routes(tree, labels))
        assert ours == _amtool_routes(path, labels), (name, labels)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_config_amtool_rejects_onexgen_rejects_with_reason(tmp_path: Path, name: str) -> None:
    text, reason = REJECTED[name]
    path = _write(tmp_path, name, text)
    assert not _amtool_accepts(path), f"{name}: amtool accepts the fixture"
    with pytest.raises(ManagerConfigError, match=reason):
        load_manager_config(path)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    alerts.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_cli_routes_test_prints_amtool_answer(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "cli", ACCEPTED["continue_and_nesting"])
    labels = ["severity=critical", "team=db"]
    assert _run(["alerts", "routes", "test", "--config", str(path), *labels]) == 0
    assert capsys.readouterr().out.strip() == _amtool_routes(
        path, {"severity": "critical", "team": "db"}) == "b"


def test_cli_check_config_exit_codes(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good", ACCEPTED["global_email_slack"])
    bad = _write(tmp_path, "bad", REJECTED["unknown_field"][0])
    assert _run(["alerts", "check-config", str(good)]) == 0
    assert _run(["alerts", "check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "SUCCESS" in out and "FAILED" in out and "'dedup_window_s'" in out
