"""The deploy and monitoring files, checked by their own tools where this machine has them.

No container engine runs here, so the compose file is checked for what breaks
it in practice: Kafka's log directory on its volume, every bind-mounted file
present in the repository, the monitoring services wired to each other. The
Prometheus configs go through ``promtool check config``, the Alertmanager file
compose mounts through ``amtool check-config``, the systemd unit through
``systemd-analyze verify`` (with ExecStart pointed at this venv's ``onexgen``:
/opt/onexgen does not exist here), and every Grafana query names a metric
family the worker serves.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from onexgen.alerting.families import FigureFamilies
from onexgen.alerting.metrics import AlertMetrics, NotificationMetrics
from onexgen.observability.metrics import ConsumerMetrics, PipelineMetrics
from onexgen.observability.monitor import Monitor

ROOT = Path(__file__).parents[3]
COMPOSE = ROOT / "deploy" / "compose" / "docker-compose.yml"
UNIT = ROOT / "deploy" / "systemd" / "onexgen-worker@.service"


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: `apt-get install -y {package}`", pytrace=False)
    return found


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    loaded: dict[str, dict[str, dict[str, object]]] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_kafka_writes_its_log_on_the_volume() -> None:
    kafka = _compose()["services"]["kafka"]
    environment = kafka["environment"]
    assert isinstance(environment, dict) and isinstance(kafka["volumes"], list)
    mounts = dict(v.split(":")[:2] for v in kafka["volumes"])
    assert environment["KAFKA_LOG_DIRS"] == mounts["kafka-data"]


def test_compose_bind_mounts_exist_and_named_volumes_declared() -> None:
    compose = _compose()
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):  # type: ignore[attr-defined]  # a list
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).resolve().exists(), f"{name}: {source}"
            else:
                assert source in declared, f"{name}: volume {source} not declared"
    assert {"prometheus", "alertmanager", "grafana"} <= set(compose["services"])


def test_compose_workers_leave_alerting_to_prometheus() -> None:
    compose = _compose()
    environment = compose["services"]["worker"]["environment"]
    assert isinstance(environment, dict)
    assert environment["ONEXGEN_ALERT_NOTIFIER"] == "${ONEXGEN_ALERT_NOTIFIER:-off}"
    prometheus = yaml.safe_load((ROOT / "infra/prometheus/prometheus-compose.yml").read_text())
    targets = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    assert prometheus["rule_files"] == ["onexgen.rules.yml"]


@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus-compose.yml"])
def test_prometheus_configs_pass_promtool(name: str) -> None:
    done = subprocess.run([_tool("promtool", "prometheus"), "check", "config",
                           str(ROOT / "infra" / "prometheus" / name)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 21 rules found" in done.stdout


def test_compose_alertmanager_file_passes_amtool() -> None:
    mounted = next(v for v in _compose()["services"]["alertmanager"]["volumes"]  # type: ignore[attr-defined]  # a list
                   if str(v).endswith("alertmanager.yml:ro"))
    source = (COMPOSE.parent / str(mounted).split(":")[0]).resolve()
    done = subprocess.run([_tool("amtool", "prometheus-alertmanager"), "check-config",
                           str(source)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_systemd_unit_verifies_and_creates_its_directories(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert not re.search(r"^ReadWritePaths=", text, re.MULTILINE)
    assert "StateDirectory=onexgen" in text and "LogsDirectory=onexgen" in text
    onexgen = Path(sys.executable).parent / "onexgen"
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("/opt/onexgen/.venv/bin/onexgen", str(onexgen)))
    done = subprocess.run([_tool("systemd-analyze", "systemd"), "verify",
                           f"{copy.parent}/onexgen-worker@1.service"],
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=tmp_path)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "onexgen-worker" in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr


def test_grafana_queries_name_metrics_the_worker_serves() -> None:
    registry = CollectorRegistry()
    PipelineMetrics(registry)
    ConsumerMetrics(registry)
    monitor = Monitor(registry)
    registry.register(FigureFamilies(monitor.value))
    AlertMetrics(registry)
    NotificationMetrics(registry)
    served = {m.name for m in registry.collect()}
    dashboard = json.loads((ROOT / "infra/grafana/onexgen-dashboard.json").read_text())
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Consumer lag", "Queue wait p95", "Produce latency p95"} <= titles
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            for name in re.findall(r"\bonexgen_[a-z][a-z0-9_]*", target["expr"]):
                base = re.sub(r"_(bucket|sum|count|total)$", "", name)
                assert base in served, f"{panel['title']}: {name} is not served"
            for alternative in re.findall(r"onexgen_\(([^)]*)\)", target["expr"]):
                for name in alternative.split("|"):
                    assert f"onexgen_{name}" in served, f"{panel['title']}: {name}"
