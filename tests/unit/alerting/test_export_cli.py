"""``onexgen alerts export-rules`` output is accepted by the real ``promtool check rules``."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from onexgen.alerting.promrules import prometheus_duration
from onexgen.cli import alerts
from onexgen.cli.alerts import duration


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    alerts.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_export_rules_passes_promtool_check(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: `apt-get install -y prometheus` (Debian ships "
                    "promtool in it)", pytrace=False)
    target = tmp_path / "onexgen.rules.yml"
    assert _run(["alerts", "export-rules", str(target)]) == 0
    checked = subprocess.run([promtool, "check", "rules", str(target)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 21 rules found" in checked.stdout


def test_check_command_reports_rules_and_receivers(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "21 rule(s)" in out and "ops-webhook/webhook/0" in out


@pytest.mark.parametrize(("text", "seconds"), [("1h", 3600), ("1h30m", 5400), ("2d", 172800),
                                               ("45s", 45)])
def test_duration_parses_units(text: str, seconds: int) -> None:
    assert duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1x", "0s", "h"])
def test_duration_bad_text_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


def test_prometheus_duration_whole_units() -> None:
    assert prometheus_duration(90) == "1m30s"
    assert prometheus_duration(0.25) == "250ms"
    assert prometheus_duration(1800) == "30m"


def test_exported_rules_read_named_families_at_scrape_interval(tmp_path: Path) -> None:
    target = tmp_path / "onexgen.rules.yml"
    assert _run(["alerts", "export-rules", str(target)]) == 0
    group = yaml.safe_load(target.read_text())["groups"][0]
    assert group["interval"] == "15s"
    assert all("onexgen_monitor_value" not in r["expr"] for r in group["rules"])
    assert all(re.search(r"onexgen_[a-z0-9_]+_(seconds|ratio|total|bucket|sum|count)\b",
                         r["expr"]) for r in group["rules"])


def test_shipped_prometheus_rules_file_is_current(tmp_path: Path) -> None:
    target = tmp_path / "onexgen.rules.yml"
    assert _run(["alerts", "export-rules", str(target)]) == 0
    shipped = Path(__file__).parents[3] / "infra" / "prometheus" / "onexgen.rules.yml"
    assert shipped.read_text() == target.read_text(), (
        "infra/prometheus/onexgen.rules.yml is stale: run "
        "`onexgen alerts export-rules infra/prometheus/onexgen.rules.yml`")
