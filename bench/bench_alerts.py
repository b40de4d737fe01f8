"""Alerting on the real services: rule evaluation, breach -> topic, topic -> webhook, health.

* **evaluation** - all 21 default rules evaluated once over a monitor holding
  full windows (1 000 samples per sample figure); goal <= 1 ms per cycle.
* **breach to topic** - a rule with ``for: 1`` is breached at t0; the figure is
  when its alert is consumed from ``<prefix>.alerts`` on the real broker,
  minus the 1 s window, with the monitor evaluating every
  ``evaluation_interval_s`` of the default rules file; goal <= 1 s.
* **alert to webhook** - an alert published to the topic until a local aiohttp
  webhook receives the Alertmanager v4 POST, through consumer, alert-manager
  (``group_wait: 0s``) and delivery queue; goal <= 2 s.
* **breach to Alertmanager** - the hand-off path (``ONEXGEN_ALERTMANAGER_URL``):
  a rule with ``for: 1`` is breached at t0; its alert goes through the real
  topic, a consumer and :class:`AlertmanagerHandoff` (ticking every 0.25 s, the
  shipped ``tick``) to a real Alertmanager process (Debian's
  ``prometheus-alertmanager``); the figure is when the alert is listed by
  Alertmanager's ``GET /api/v2/alerts``, minus the 1 s window; goal <= 2 s.
* **health check** - the worker's checks (Kafka metadata, Postgres round trip,
  template engine, a started 2-process pool, models) run together; goal <= 100 ms.

Kafka and Postgres come from ``ONEXGEN_KAFKA_BOOTSTRAP`` / ``ONEXGEN_DATABASE_URL``
or ``.local/stack.env``; every Kafka client takes the ``ONEXGEN_KAFKA_*`` security
settings of the environment (:func:`_settings`, :func:`_alerts_consumer`, started with
the streams package's :func:`~onexgen.streams.security.start_client`), as the worker's.
``python -m bench.bench_alerts`` prints the table and writes ``bench/results/alerts.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from bench.report import Report
from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.extras import Extras
from onexgen.alerting.handoff import AlertmanagerHandoff
from onexgen.alerting.rules import load_rules, parse_rules
from onexgen.alerting.service import AlertManagerService, AlertPublisher, MonitorLoop
from onexgen.generation.health import template_check
from onexgen.generation.pool import GenerationPool
from onexgen.models.wire import AlertMessage
from onexgen.observability.health import (
    HealthChecker,
    KafkaProbe,
    figures_check,
    pool_check,
    postgres_check,
)
from onexgen.observability.monitor import Monitor
from onexgen.settings import Settings, stack_value
from onexgen.storage.pool import create_pool
from onexgen.streams.publisher import Publisher
from onexgen.streams.security import start_client
from onexgen.streams.topics import ensure_topics
from tests.harness.alertmanager import AlertmanagerProcess

ROUNDS = 5


def _stack(name: str) -> str:
    value = stack_value(name)
    if value:
        return value
    raise SystemExit(f"{name} is not set and .local/stack.env is missing: run `make stack-up`")


def _settings(bootstrap: str) -> Settings:
    """Settings for one benchmark's own topics; the rest (security) from ``ONEXGEN_*``."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    return Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix, app_id=f"{prefix}-app")


async def _alerts_consumer(settings: Settings, group: str, *,
                           offset_reset: str = "earliest") -> AIOKafkaConsumer:
    """A started consumer of ``settings``' alerts topic, with its security settings."""
    consumer = AIOKafkaConsumer(settings.topics.alerts, bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"{settings.topic_prefix}-{group}",
                                auto_offset_reset=offset_reset, **settings.kafka_client_kwargs())
    await start_client(settings, consumer)
    return consumer


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_evaluation(report: Report, cycles: int = 5000) -> None:
    rules = load_rules()
    monitor = Monitor(CollectorRegistry())
    for metric in rules.metrics():
        kind = monitor.figures[metric].kind
        if kind == "sample":
            for value in range(1000):
                monitor.observe(metric, float(value))
        elif kind == "ratio":
            monitor.observe_ratio(metric, 95, 100)
        else:
            monitor.set_gauge(metric, 0.9)
    engine = RuleEngine(rules, monitor.value)
    times = []
    for _ in range(cycles):
        started = time.perf_counter()
        engine.evaluate()
        times.append((time.perf_counter() - started) * 1000)
    report.add(f"evaluate all {len(rules.rules)} rules, median", statistics.median(times), "ms",
               goal="<= 1 ms", met=statistics.median(times) <= 1)
    report.add("evaluate all rules, p99", _p(times, 0.99), "ms", goal="<= 1 ms",
               met=_p(times, 0.99) <= 1)



@contextlib.asynccontextmanager
async def breached_round(round_no: int, interval: float, publisher: Publisher,
                         settings: Settings) -> AsyncIterator[float]:
    """One round's latency rule (``for`` 1 s) evaluated on the monitor's timer, breached at a
    random phase of it; yields the breach's ``time.monotonic()``, stops the timer on exit."""
    monitor = Monitor()
    rules = parse_rules({"evaluation_interval_s": interval, "labels": {
        "round": str(round_no)}, "rules": [{
            "name": "latency_high", "metric": "event_latency_p95_ms", "threshold": 100,
            "comparison": ">", "severity": "warning", "for": 1}]})
    loop = MonitorLoop(monitor, RuleEngine(rules, monitor.value),
                       AlertPublisher(publisher.publish, settings.topics.alerts))
    breached = asyncio.Event()

    async def evaluate() -> None:
        while True:  # the monitor's timer, already running when the breach starts
            if breached.is_set():
                monitor.observe("event_latency_p95_ms", 500.0)
            await loop.run_once()
            await asyncio.sleep(interval)

    task = asyncio.create_task(evaluate())
    try:
        await asyncio.sleep(random.uniform(0, interval))  # breach at a random timer phase
        t0 = time.monotonic()
        monitor.observe("event_latency_p95_ms", 500.0)
        breached.set()
        yield t0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

async def bench_breach_to_topic(report: Report, bootstrap: str) -> None:
    interval = load_rules().evaluation_interval_s
    settings = _settings(bootstrap)
    await ensure_topics(settings)
    publisher = Publisher(settings)
    await publisher.start()
    consumer = await _alerts_consumer(settings, "c")
    beyond: list[float] = []
    try:
        for round_no in range(ROUNDS):
            async with breached_round(round_no, interval, publisher, settings) as t0:
                while True:
                    record = await asyncio.wait_for(consumer.getone(), 30)
                    alert = AlertMessage.model_validate_json(record.value or b"")
                    if alert.labels.get("round") == str(round_no):
                        beyond.append(time.monotonic() - t0 - 1.0)
                        break
    finally:
        await consumer.stop()
        await publisher.stop()
    worst = max(beyond)
    report.add("breach to alert on topic, beyond `for`, median", statistics.median(beyond), "s",
               goal="<= 1 s", met=statistics.median(beyond) <= 1)
    report.add("breach to alert on topic, beyond `for`, worst", worst, "s", goal="<= 1 s",
               met=worst <= 1, note=f"{ROUNDS} rounds, evaluation every {interval:g} s")


async def bench_alert_to_webhook(report: Report, bootstrap: str) -> None:
    settings = _settings(bootstrap)
    await ensure_topics(settings)
    received: list[tuple[float, dict[str, Any]]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((time.monotonic(), await request.json()))
        arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = ManagerConfig.model_validate({
        "receivers": [{"name": "hook", "webhook_configs": [
            {"url": f"http://127.0.0.1:{port}/hook"}]}],
        "route": {"receiver": "hook", "group_by": ["..."], "group_wait": "0s",
                  "group_interval": "50ms"}})
    service = AlertManagerService(config, extras=Extras.model_validate({"tick": "50ms"}))
    service.start()
    stop = asyncio.Event()
    ticker = asyncio.create_task(service.run(stop))
    consumer = await _alerts_consumer(settings, "am", offset_reset="latest")
    await consumer.seek_to_end()

    async def consume() -> None:
        async for record in consumer:
            service.handle(record.value)

    reader = asyncio.create_task(consume())
    publisher = Publisher(settings)
    await publisher.start()
    latencies: list[float] = []
    try:
        for round_no in range(ROUNDS):
            monitor = Monitor()
            rules = parse_rules({"labels": {"round": str(round_no)}, "rules": [{
                "name": "latency_high", "metric": "m", "threshold": 1, "comparison": ">",
                "severity": "critical", "for": 0}]})
            monitor.set_gauge("m", 5.0)
            loop = MonitorLoop(monitor, RuleEngine(rules, monitor.value),
                               AlertPublisher(publisher.publish, settings.topics.alerts))
            arrived.clear()
            t0 = time.monotonic()
            await loop.run_once()
            await asyncio.wait_for(arrived.wait(), 30)
            latencies.append(received[-1][0] - t0)
    finally:
        stop.set()
        reader.cancel()
        await asyncio.gather(reader, ticker, return_exceptions=True)
        await service.stop()
        await consumer.stop()
        await publisher.stop()
        await runner.cleanup()
    report.add("alert published to webhook received, median", statistics.median(latencies), "s",
               goal="<= 2 s", met=statistics.median(latencies) <= 2)
    report.add("alert published to webhook received, worst", max(latencies), "s",
               goal="<= 2 s", met=max(latencies) <= 2, note="group_wait 0s")


AM_CONFIG = """
route: {receiver: blackhole, group_wait: 0s, group_interval: 1s}
receivers: [{name: blackhole}]
"""


async def bench_breach_to_alertmanager(report: Report, bootstrap: str) -> None:
    import aiohttp

    interval = load_rules().evaluation_interval_s
    settings = _settings(bootstrap)
    await ensure_topics(settings)
    alertmanager = AlertmanagerProcess(AM_CONFIG)
    await asyncio.to_thread(alertmanager.start)
    handoff = AlertmanagerHandoff(alertmanager.url, tick_s=0.25)
    stop = asyncio.Event()
    ticker = asyncio.create_task(handoff.run(stop))
    publisher = Publisher(settings)
    await publisher.start()
    consumer = await _alerts_consumer(settings, "am")

    async def consume() -> None:
        async for record in consumer:
            handoff.handle(record.value)

    reader = asyncio.create_task(consume())
    session = aiohttp.ClientSession()
    beyond: list[float] = []
    try:
        for round_no in range(ROUNDS):
            url = f"{alertmanager.url}/api/v2/alerts?filter=round%3D%22{round_no}%22"
            async with breached_round(round_no, interval, publisher, settings) as t0:
                while True:
                    async with session.get(url) as answer:
                        if await answer.json():
                            beyond.append(time.monotonic() - t0 - 1.0)
                            break
                    if time.monotonic() - t0 > 30:
                        raise RuntimeError("the alert never reached Alertmanager")
                    await asyncio.sleep(0.01)
    finally:
        stop.set()
        reader.cancel()
        await asyncio.gather(reader, ticker, return_exceptions=True)
        await session.close()
        await handoff.stop(drain_timeout_s=1)
        await consumer.stop()
        await publisher.stop()
        await asyncio.to_thread(alertmanager.stop)
    worst = max(beyond)
    report.add("breach to alert at Alertmanager API, beyond `for`, median",
               statistics.median(beyond), "s", goal="<= 2 s",
               met=statistics.median(beyond) <= 2)
    report.add("breach to alert at Alertmanager API, beyond `for`, worst", worst, "s",
               goal="<= 2 s", met=worst <= 2,
               note=f"{ROUNDS} rounds; real Alertmanager, hand-off tick 0.25 s")


async def bench_health(report: Report, bootstrap: str, database_url: str,
                       runs: int = 50) -> None:
    settings = Settings(kafka_bootstrap=bootstrap)
    kafka = KafkaProbe(settings, [])
    await kafka.start()
    pool = await create_pool(database_url, 1, 2)
    workers = GenerationPool(2)
    await workers.start()
    await workers.run([(b"{}", "warmup")] * 2)
    monitor = Monitor()
    checker = HealthChecker()
    checker.add("kafka", kafka.check)
    checker.add("postgres", postgres_check(lambda: pool))
    checker.add("templates", template_check())
    checker.add("process_pool", pool_check(workers))
    checker.add("models", figures_check(monitor.value, ("mixin_accuracy",)), critical=False)
    times: list[float] = []
    statuses: set[str] = set()
    try:
        await checker.run()  # first template load compiles the templates: not a steady state
        for _ in range(runs):
            started = time.perf_counter()
            result = await checker.run()
            times.append((time.perf_counter() - started) * 1000)
            statuses.update(f"{c.name}={c.status}" for c in result.checks if c.critical)
    finally:
        await kafka.close()
        await pool.close()
        await workers.stop()
    report.add("health check (5 checks), median", statistics.median(times), "ms",
               goal="<= 100 ms", met=statistics.median(times) <= 100)
    report.add("health check, worst", max(times), "ms", goal="<= 100 ms",
               met=max(times) <= 100, note=" ".join(sorted(statuses)))


async def _run_async(report: Report) -> None:
    bootstrap = _stack("ONEXGEN_KAFKA_BOOTSTRAP")
    await bench_breach_to_topic(report, bootstrap)
    await bench_alert_to_webhook(report, bootstrap)
    await bench_breach_to_alertmanager(report, bootstrap)
    await bench_health(report, bootstrap, _stack("ONEXGEN_DATABASE_URL"))


def run() -> Report:
    report = Report("alerting: rules, topic, delivery, health")
    bench_evaluation(report)
    asyncio.run(_run_async(report))
    report.params = {"rounds": ROUNDS, "rules": len(load_rules().rules)}
    return report


if __name__ == "__main__":
    result = run()
    print(result.render())
    print(f"-> {result.write_json('alerts')}")
