"""Shared helpers for the alerting unit tests: a clock the test moves, small configs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from onexgen.alerting.matchers import fingerprint
from onexgen.models.wire import AlertMessage, AlertStatus


class FakeClock:
    """Seconds since the epoch that move only when the test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_alert(rule: str, *, severity: str = "warning", status: str = "firing",
               metric: str = "cache_hit_rate", starts_at: float = 1_700_000_000.0,
               **labels: str) -> AlertMessage:
    all_labels = {"alertname": rule, "severity": severity, "metric": metric,
                  "service": "onexgen", **labels}
    ends = datetime.fromtimestamp(starts_at + 60, UTC) if status == "resolved" else None
    return AlertMessage(fingerprint=fingerprint(all_labels), rule=rule,
                        status=AlertStatus(status), severity=severity,
                        metric=metric, value=0.5, threshold=0.7, comparison="<",
                        labels=all_labels, annotations={"summary": f"{rule} summary"},
                        starts_at=datetime.fromtimestamp(starts_at, UTC), ends_at=ends)


def manager_config(**overrides: Any) -> dict[str, Any]:
    """An Alertmanager-format config: three receivers without integrations (log), so
    ``send_resolved`` follows the manager's rule for them; ``quiet`` has a webhook that
    does not want resolved notifications."""
    base: dict[str, Any] = {
        "receivers": [{"name": "ops"}, {"name": "pager"},
                      {"name": "quiet", "webhook_configs": [
                          {"url": "http://127.0.0.1:9/x", "send_resolved": False}]}],
        "route": {"receiver": "ops", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "5s", "repeat_interval": "1m"},
    }
    base.update(overrides)
    return base
