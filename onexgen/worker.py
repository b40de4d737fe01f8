"""``onexgen worker``: prepare topics and schema, then run the Faust worker in the foreground."""

from __future__ import annotations

import asyncio
from typing import Literal

import faust
import structlog
import uvloop

from onexgen.agents.alertmanager import register_alertmanager
from onexgen.agents.codegen import register_codegen_agent
from onexgen.agents.feedback import register_feedback_agent
from onexgen.agents.lag import register_lag_gauges
from onexgen.agents.monitor import register_monitor
from onexgen.agents.runtime import WorkerRuntime
from onexgen.observability.logging import configure_logging_from_settings
from onexgen.settings import Settings
from onexgen.storage.migrate import migrate
from onexgen.streams.acl_check import check_worker_acls
from onexgen.streams.app import create_app
from onexgen.streams.faust_internals import add_service
from onexgen.streams.topics import ensure_topics

log = structlog.get_logger("onexgen.worker")


async def prepare(settings: Settings) -> None:
    """Topics, the principal's ACLs and migrations; safe on every start and from several
    workers. A missing right stops the start here, with the ACL named."""
    created = await ensure_topics(settings)
    await check_worker_acls(settings)
    applied = await migrate(settings.database_url.get_secret_value())
    log.info("prepared", topics_created=created, migrations_applied=applied)


def build_worker(settings: Settings) -> tuple[faust.App, WorkerRuntime]:
    app = create_app(settings)
    runtime = WorkerRuntime(settings)
    add_service(app, runtime)
    runtime.stop_first.append(app.agents)
    register_codegen_agent(app, runtime)
    register_feedback_agent(app, runtime, retrain_after=settings.mixin_retrain_after)
    register_lag_gauges(app, runtime)
    monitoring = register_monitor(app, runtime, monitor=runtime.monitor)
    register_alertmanager(app, runtime, dashboard=monitoring.dashboard)
    runtime.web.route_hooks.append(lambda web_app, ready: monitoring.add_routes(web_app,
                                                                               ready=ready))
    return app, runtime


def use_event_loop(kind: Literal["uvloop", "asyncio"]) -> None:
    """Make the loops created from now on (the worker's, Faust's consumer thread's) ``kind``."""
    if kind == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def run_worker(settings: Settings) -> None:
    """Blocks until SIGINT/SIGTERM; then drains the in-flight batch and stops."""
    configure_logging_from_settings(settings, replace_root_handlers=True)
    asyncio.run(prepare(settings))
    use_event_loop(settings.event_loop)
    app, _ = build_worker(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True,
                          override_logging=False, redirect_stdouts=False)
    worker.execute_from_commandline()
