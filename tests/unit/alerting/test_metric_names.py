"""Every metric set of alerting passes ``promtool check metrics`` (the real binary)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry

from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.families import FigureFamilies
from onexgen.alerting.metrics import AlertMetrics, NotificationMetrics
from onexgen.alerting.rules import load_rules
from onexgen.models.wire import AlertStatus
from onexgen.observability.metrics import PipelineMetrics, render_metrics
from onexgen.observability.monitor import STAGES, Monitor


def test_alerting_and_monitor_metrics_pass_promtool_check_metrics() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: `apt-get install -y prometheus`", pytrace=False)
    registry = CollectorRegistry()
    PipelineMetrics(registry)
    monitor = Monitor(registry)
    registry.register(FigureFamilies(monitor.value))
    notifications = NotificationMetrics(registry)
    notifications.register_receiver("ops-webhook")
    engine = RuleEngine(load_rules(), monitor.value, metrics=AlertMetrics(registry))
    for stage in STAGES:
        monitor.observe_stage(stage, 0.01, failed=1)
    monitor.observe_cache("templates", 9, 1)
    monitor.observe_ratio("mixin_accuracy", 9, 10)
    monitor.observe_batch(10, 0.2, 9, 1, 0, [12.0] * 10)
    monitor.export(monitor.snapshot())
    engine.evaluate()
    notifications.alerts_received.labels(status=AlertStatus.FIRING.value).inc()
    payload, _ = render_metrics(registry)
    checked = subprocess.run([promtool, "check", "metrics"], input=payload,
                             capture_output=True, check=False)
    problems = (checked.stdout + checked.stderr).decode()
    assert checked.returncode == 0 and problems.strip() == "", problems
    text = payload.decode()
    assert 'onexgen_stage_duration_seconds_count{stage="validate_code"} 1.0' in text
    assert 'onexgen_monitor_value{metric="cache_hit_rate"} 0.9' in text
    assert "onexgen_notification_delivery_duration_seconds_bucket" in text
    assert "onexgen_mixin_accuracy_ratio 0.9" in text
