"""The monitor on the Faust app: rule evaluation as a timer, plus health and dashboard parts.

``register_monitor(app, runtime)`` builds, for one worker:

* a :class:`~observability.monitor.Monitor` on the worker's registry - the
  batch processor and other components report into it;
* a rule engine over the rules file and a timer evaluating it every
  ``evaluation_interval_s``, publishing transitions to ``<prefix>.alerts``
  through the worker's publisher (acks=all, idempotent);
* the health checks (Kafka, publishing refused for want of an ACL, Postgres, templates,
  process pool, models, agent liveness) and the dashboard, for the web server's routes.

Each worker evaluates its own windows; alerts carry an ``instance`` label
(``<hostname>:<web port>`` unless ``ONEXGEN_ALERT_INSTANCE`` is set), so two
workers never share a fingerprint.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import faust
import structlog
from aiohttp import web

from onexgen.agents.runtime import WorkerRuntime
from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.families import FigureFamilies
from onexgen.alerting.metrics import AlertMetrics
from onexgen.alerting.rules import DEFAULT_RULES_FILE, RuleSet, load_rules
from onexgen.alerting.service import AlertPublisher, MonitorLoop
from onexgen.dashboard.routes import add_routes
from onexgen.dashboard.snapshot import MODEL_FIGURES, Dashboard
from onexgen.generation.health import template_check
from onexgen.observability.health import (
    HealthChecker,
    KafkaProbe,
    Offsets,
    figures_check,
    liveness_check,
    pool_check,
    postgres_check,
    refusal_check,
)
from onexgen.observability.monitor import Monitor
from onexgen.streams.faust_internals import consume_refused

__all__ = ["MonitorHandle", "register_monitor"]

log = structlog.get_logger("onexgen.agents.monitor")


@dataclass(slots=True)
class MonitorHandle:
    """What the worker wires further: ``monitor`` into the pipeline, ``add_routes`` into web."""

    monitor: Monitor
    engine: RuleEngine
    loop: MonitorLoop
    health: HealthChecker
    dashboard: Dashboard
    kafka: KafkaProbe
    refresh_ms: int

    def add_routes(self, web_app: web.Application, *, ready: Any) -> None:
        """``/dashboard``, ``/dashboard.json``, ``/health``, ``/ready`` on the worker's app."""
        add_routes(web_app, dashboard=self.dashboard, health=self.health, ready=ready,
                   interval_ms=self.refresh_ms)


def consumer_offsets(app: faust.App) -> Any:
    """High watermark and position of every partition the app's consumer holds."""

    async def offsets() -> Offsets:
        consumer = app.consumer
        out: dict[tuple[str, int], tuple[int, int]] = {}
        for tp in consumer.assignment():
            try:
                high = int(consumer.highwater(tp) or 0)
                position = int(await consumer.position(tp) or 0)
            except Exception:  # noqa: S112 - not fetched yet (just assigned): no lag to judge
                continue
            out[(tp.topic, tp.partition)] = (high, position)
        return out

    return offsets


def register_monitor(app: faust.App, runtime: WorkerRuntime, *,
                     rules: RuleSet | None = None,
                     monitor: Monitor | None = None) -> MonitorHandle:
    """Attach the evaluation timer to the runtime's monitor (the windows its batch
    processor reports into), or to ``monitor`` when one is given."""
    settings = runtime.settings
    cfg = settings
    rules = rules or load_rules(cfg.alert_rules_file or DEFAULT_RULES_FILE)
    monitor = monitor if monitor is not None else runtime.monitor
    instance = cfg.alert_instance or f"{socket.gethostname()}:{settings.web_port}"
    engine = RuleEngine(rules, monitor.value, labels={"instance": instance},
                        metrics=AlertMetrics(runtime.registry))
    publisher = AlertPublisher(runtime.publisher.publish, settings.topics.alerts,
                               engine.metrics)
    loop = MonitorLoop(monitor, engine, publisher)
    # the model figures under their own names, for Prometheus' copy of the rules
    runtime.registry.register(FigureFamilies(monitor.value))

    kafka = KafkaProbe(settings, settings.topics.all())
    health = HealthChecker(budget_s=cfg.health_budget_ms / 1000,
                           timeouts_to_fail=cfg.health_timeouts_to_fail)
    health.add("kafka", kafka.check)
    health.add("postgres", postgres_check(
        lambda: getattr(getattr(runtime, "database", None), "pool", None)))
    health.add("templates", template_check(renderer=lambda: runtime.pool.renderer))
    health.add("process_pool", pool_check(runtime.pool))
    health.add("kafka_publish", refusal_check(lambda: runtime.publisher.refused))
    health.add("kafka_consume", refusal_check(lambda: consume_refused(app)))
    health.add("models", figures_check(monitor.value, MODEL_FIGURES), critical=False)
    health.add("agents", liveness_check(monitor.progress, consumer_offsets(app),
                                        stall_after_s=cfg.health_stall_after_s))
    dashboard = Dashboard(monitor, engine=engine, health=health)
    handle = MonitorHandle(monitor, engine, loop, health, dashboard, kafka,
                           cfg.dashboard_refresh_ms)

    async def start_probes() -> None:
        await runtime.wait_ready()
        await kafka.start()
        log.info("monitor_started", rules=len(rules.rules), instance=instance,
                 interval_s=rules.evaluation_interval_s)

    async def evaluate() -> None:
        if runtime.is_ready():
            await loop.run_once()

    async def close_probes(_: Any, **kwargs: Any) -> None:
        await kafka.close()

    app.task(start_probes)
    app.timer(rules.evaluation_interval_s, name="onexgen.monitor.evaluate")(evaluate)
    shutdown: Any = app.on_before_shutdown  # mode's stub rejects async receivers it accepts
    shutdown.connect(close_probes)
    return handle
