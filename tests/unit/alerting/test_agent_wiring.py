"""The hooks the worker calls attach to a real Faust app and web app without starting them."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from onexgen.agents.alertmanager import register_alertmanager
from onexgen.agents.monitor import register_monitor
from onexgen.agents.runtime import WorkerRuntime
from onexgen.alerting.handoff import AlertmanagerHandoff
from onexgen.alerting.service import AlertManagerService
from onexgen.settings import Settings
from onexgen.streams.app import create_app


def test_register_monitor_and_alertmanager_attach_agents_timers_and_routes() -> None:
    settings = Settings(topic_prefix="wiring", app_id="wiring-app")
    app = create_app(settings)
    runtime = WorkerRuntime(settings, registry=CollectorRegistry())
    handle = register_monitor(app, runtime)
    service = register_alertmanager(app, runtime, dashboard=handle.dashboard)
    assert "onexgen.alertmanager" in {a.name for a in app.agents.values()}
    assert isinstance(service, AlertManagerService)
    assert handle.dashboard.manager is service.manager
    assert len(handle.engine.states) == 21
    assert {c.name for c in handle.health.checks} == {
        "kafka", "kafka_publish", "kafka_consume", "postgres", "templates", "process_pool",
        "models", "agents"}
    web_app = web.Application()
    handle.add_routes(web_app, ready=runtime.is_ready)
    paths = {r.resource.canonical for r in web_app.router.routes() if r.resource is not None}
    assert {"/dashboard", "/dashboard.json", "/health", "/ready"} <= paths
    handle.monitor.observe_batch(3, 0.1, 3, 0, 0, [5.0, 6.0, 7.0])
    assert handle.monitor.value("event_success_rate") == 1.0


def test_register_alertmanager_with_url_hands_off_and_has_no_notifier() -> None:
    settings = Settings(topic_prefix="wiring2", app_id="wiring2-app",
                        alertmanager_url="http://127.0.0.1:9093")
    app = create_app(settings)
    runtime = WorkerRuntime(settings, registry=CollectorRegistry())
    service = register_alertmanager(app, runtime)
    assert isinstance(service, AlertmanagerHandoff)
    assert service.url == "http://127.0.0.1:9093/api/v2/alerts"
    assert "onexgen.alertmanager" in {a.name for a in app.agents.values()}
