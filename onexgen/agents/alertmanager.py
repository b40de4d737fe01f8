"""The alert-manager agent: consume ``<prefix>.alerts``, route, group and notify.

The alerts topic has one partition, so exactly one worker of the group holds
it and runs the alert-manager state (groups, dedup, escalation) for all; on a
rebalance the new holder rebuilds that state from the alerts the monitors
re-send every ``resend_interval_s``. An alert is acknowledged (its offset
committed) only once the notifications it caused have been sent or parked
(:meth:`~onexgen.alerting.service.AlertManagerService.settled`, checked every
tick), so a worker killed with a notification undelivered - a resolve above
all, which is never re-sent - leaves it for the next holder to read again.
When a rebalance starts, everything held is acknowledged (Faust waits for
every consumed record before it gives partitions up); the worker stays alive
and goes on delivering it. When the worker stops, what is held is abandoned
unacknowledged (:func:`~onexgen.streams.faust_internals.abandon`): the next
holder reads it again. A worker whose new assignment lacks the alerts
partition forgets its alerts and groups (``partition_lost``): the new holder
notifies them, and a stale manager would re-notify them and, no longer fed
the re-sends, resolve them all after ``resolve_timeout``. Delivery retries happen
in the delivery queue, not by re-reading Kafka.

Silences are read from Postgres (``alert_silences``) every
``silence_refresh``; the manager's flush runs on a timer every ``tick``.

With ``ONEXGEN_ALERTMANAGER_URL`` set the built-in notifier is off: the agent
forwards the topic's alerts to that Alertmanager's API v2
(:mod:`onexgen.alerting.handoff`) and the team's Alertmanager does routing,
silences and notification.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import structlog

from onexgen.agents.runtime import WorkerRuntime
from onexgen.alerting.config import DEFAULT_MANAGER_FILE, ManagerConfig, load_manager_config
from onexgen.alerting.extras import DEFAULT_EXTRAS_FILE, load_extras
from onexgen.alerting.handoff import AlertmanagerHandoff
from onexgen.alerting.metrics import NotificationMetrics
from onexgen.alerting.service import AlertManagerService
from onexgen.alerting.silence_store import SilenceRepository
from onexgen.alerting.silences import Silence
from onexgen.dashboard.snapshot import Dashboard
from onexgen.streams.faust_internals import abandon
from onexgen.streams.lean import RawSchema

__all__ = ["register_alertmanager"]

log = structlog.get_logger("onexgen.agents.alertmanager")


def register_alertmanager(app: faust.App, runtime: WorkerRuntime, *,
                          config: ManagerConfig | None = None,
                          dashboard: Dashboard | None = None
                          ) -> AlertManagerService | AlertmanagerHandoff | None:
    """Attach the agent and its timer; ``dashboard`` (if given) shows muting from it.

    None when ``ONEXGEN_ALERT_NOTIFIER=off``: Prometheus alerts on the exported rules and
    the workers only publish their alerts to the topic (and show them on the dashboard).
    """
    settings = runtime.settings
    if settings.alert_notifier == "off":
        log.info("alertmanager_off", hint="ONEXGEN_ALERT_NOTIFIER=off: nothing notifies from "
                                          "this worker; Prometheus' rules must alert")
        return None
    extras = load_extras(settings.alerting_extras or DEFAULT_EXTRAS_FILE)
    if settings.alertmanager_url:
        handoff = AlertmanagerHandoff(
            settings.alertmanager_url, resend_s=settings.alertmanager_resend_s,
            tick_s=extras.tick, external_url=extras.external_url,
            metrics=NotificationMetrics(runtime.registry))
        _attach(app, runtime, handoff, extras.tick)
        return handoff
    config = config or load_manager_config(settings.alertmanager_config or DEFAULT_MANAGER_FILE)
    extras.check_against(config, str(settings.alerting_extras or DEFAULT_EXTRAS_FILE))

    async def active_silences(now: Any) -> list[Silence]:
        database = getattr(runtime, "database", None)
        if database is None:
            raise RuntimeError("database not open yet")
        return await SilenceRepository(database.pool).active(now)

    service = AlertManagerService(config, extras=extras, registry=runtime.registry,
                                  silence_source=active_silences)
    if dashboard is not None:
        dashboard.manager = service.manager
    _attach(app, runtime, service, extras.tick)
    return service


def _attach(app: faust.App, runtime: WorkerRuntime,
            service: AlertManagerService | AlertmanagerHandoff, tick_s: float) -> None:
    """The agent on the alerts topic, the tick timer and the drain at shutdown."""
    settings = runtime.settings
    topic = app.topic(settings.topics.alerts, schema=RawSchema())

    source: Any = None  # the agent's stream, once it runs: acknowledgements go through it

    async def acknowledge(events: list[Any]) -> None:
        for event in events:
            await source.ack(event)

    async def alertmanager(stream: Any) -> None:
        nonlocal source
        await runtime.wait_ready()
        service.start()
        source = stream
        if isinstance(service, AlertmanagerHandoff):
            log.info("alertmanager_handoff_started", url=service.url,
                     hint="built-in notifier off; the external Alertmanager notifies")
            async for event in stream.events():  # posted (and re-posted) from memory
                service.handle(event.value)
            return
        log.info("alertmanager_started", integrations=sorted(service.delivery.receivers))
        stopping = asyncio.create_task(abandon_at_stop(service))
        try:
            async for event in stream.noack().events():
                service.handle(event.value, token=event)
                if app.should_stop:
                    abandon(app, service.release())
                else:
                    await acknowledge(service.settled())
        finally:
            stopping.cancel()

    async def abandon_at_stop(manager: AlertManagerService) -> None:
        # Faust's consumer waits for every held record before it stops, and its timers
        # (our tick) have stopped by then: leave them unacknowledged, uncommitted.
        await app.wait_until_stopped()
        abandon(app, manager.release())

    async def tick() -> None:
        if not service.started:
            return
        await service.tick()
        if isinstance(service, AlertManagerService) and source is not None:
            await acknowledge(service.release() if app.rebalancing else service.settled())

    async def stop(_: Any, **kwargs: Any) -> None:
        if service.started:
            await service.stop()

    async def assigned(_: Any, assigned: Any, **kwargs: Any) -> None:
        if not any(tp.topic == settings.topics.alerts for tp in assigned):
            if service.started:
                log.info("alertmanager_partition_lost",
                         hint="another worker holds the alerts partition and notifies")
            if isinstance(service, AlertManagerService):  # records of a partition not ours
                abandon(app, service.release())
            service.partition_lost()

    app.agent(topic, name="onexgen.alertmanager", concurrency=1)(alertmanager)
    app.timer(tick_s, name="onexgen.alertmanager.tick")(tick)
    shutdown: Any = app.on_before_shutdown  # mode's stub rejects async receivers it accepts
    shutdown.connect(stop)
    rebalanced: Any = app.on_partitions_assigned
    rebalanced.connect(assigned)
