"""One JSON document with everything the dashboard shows, built from live objects.

Figures come from the monitor's windows (the same numbers the alert rules
evaluate), rule states from the rule engine (pending and firing), muting from
the alert-manager when this worker runs it, and health from the health
checker. Every part is optional so a worker shows what it has: a worker that
does not hold the alerts partition has no alert-manager, a test may have no
health checks. ``None`` means "no data in the window", never zero.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.manager import AlertManager
from onexgen.observability.health import HealthChecker
from onexgen.observability.monitor import Monitor

__all__ = ["MODEL_FIGURES", "Dashboard"]

MODEL_FIGURES = ("mixin_accuracy", "compatibility_score", "pattern_precision",
                 "false_positive_rate", "quality_score", "validation_pass_rate",
                 "parallel_speedup")


class Dashboard:
    def __init__(self, monitor: Monitor, *, engine: RuleEngine | None = None,
                 manager: AlertManager | None = None, health: HealthChecker | None = None,
                 started_at: float | None = None) -> None:
        self.monitor = monitor
        self.engine = engine
        self.manager = manager
        self.health = health
        self.started_at = time.time() if started_at is None else started_at

    def _alerts(self) -> list[dict[str, Any]]:
        muted: dict[str, Any] = {}
        if self.manager is not None:
            muted = {str(a["fingerprint"]): a["muted"] for a in self.manager.active_alerts()}
        out: list[dict[str, Any]] = []
        if self.engine is not None:
            for st in self.engine.active():
                rule = st.rule
                out.append({"rule": rule.name, "state": st.state, "severity": rule.severity,
                            "metric": rule.metric, "value": st.value,
                            "threshold": rule.threshold, "comparison": rule.comparison,
                            "fingerprint": st.fingerprint, "for_s": rule.for_s,
                            "muted": muted.get(st.fingerprint)})
        order = {"critical": 0, "warning": 1, "info": 2}
        out.sort(key=lambda a: (a["state"] != "firing", order.get(a["severity"], 3), a["rule"]))
        return out

    async def snapshot(self) -> dict[str, Any]:
        now = self.monitor.clock()
        figures = self.monitor.snapshot(now)
        health: dict[str, Any] | None = None
        lag: int | None = None
        if self.health is not None:
            report = await self.health.run()
            health = report.as_dict()
            agents = health["checks"].get("agents", {})
            partitions = agents.get("partitions")
            if isinstance(partitions, dict):
                lag = sum(int(p.get("lag", 0)) for p in partitions.values())
        return {
            "generated_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "uptime_s": round(now - self.started_at, 3),
            "throughput_per_s": figures.get("throughput_per_s"),
            "latency_ms": {"p50": figures.get("event_latency_p50_ms"),
                           "p95": figures.get("event_latency_p95_ms"),
                           "p99": figures.get("event_latency_p99_ms")},
            "success_rate": figures.get("event_success_rate"),
            "cache_hit_rate": figures.get("cache_hit_rate"),
            "template_load_p95_ms": figures.get("template_load_duration_ms"),
            "lag": lag,
            "models": {name: figures.get(name) for name in MODEL_FIGURES},
            "totals": dict(self.monitor.totals),
            "figures": figures,
            "alerts": self._alerts(),
            "health": health,
        }
