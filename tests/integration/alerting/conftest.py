"""The alerting pipeline on the real services, with real local receivers.

``alert_stack`` builds, per test: the topics under a unique prefix, a fresh
migrated database, a monitor + rule engine publishing to the real
``<prefix>.alerts`` through the real publisher, an aiokafka consumer feeding
that topic into an :class:`AlertManagerService` whose receivers are the local
HTTP and SMTP sinks, and its tick loop. Durations are short (rule ``for`` 1 s,
group intervals of fractions of a second) and tests wait for conditions with
deadlines, never for fixed times.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.extras import Extras
from onexgen.alerting.metrics import AlertMetrics
from onexgen.alerting.rules import parse_rules
from onexgen.alerting.service import AlertManagerService, AlertPublisher, MonitorLoop
from onexgen.alerting.silence_store import SilenceRepository
from onexgen.observability.monitor import Monitor
from onexgen.settings import Settings
from onexgen.storage.migrate import migrate
from onexgen.storage.pool import create_pool
from onexgen.streams.publisher import Publisher
from onexgen.streams.topics import ensure_topics
from tests.harness.receivers import HttpSink, SmtpSink

RULES = {
    "evaluation_interval_s": 0.1,
    "resend_interval_s": 0.5,
    "labels": {"service": "onexgen", "instance": "test"},
    "rules": [
        {"name": "cache_hit_rate_low", "metric": "cache_hit_rate", "threshold": 0.7,
         "comparison": "<", "severity": "warning", "for": 1},
        {"name": "cache_hit_rate_critical", "metric": "cache_hit_rate", "threshold": 0.6,
         "comparison": "<", "severity": "critical", "for": 1},
        {"name": "event_latency_high", "metric": "event_latency_p95_ms", "threshold": 750,
         "comparison": ">", "severity": "warning", "for": 1},
    ],
}


def manager_config(http: HttpSink, smtp: SmtpSink, **route: Any) -> ManagerConfig:
    """An Alertmanager-format config whose integrations are the local sinks."""
    return ManagerConfig.model_validate({
        "receivers": [
            {"name": "log"},
            {"name": "hook", "webhook_configs": [{"url": http.url("/hook")}]},
            {"name": "slack", "slack_configs": [{"api_url": http.url("/slack"),
                                                 "channel": "#t", "send_resolved": True}]},
            {"name": "mail", "email_configs": [{"smarthost": f"127.0.0.1:{smtp.port}",
                                                "from": "onexgen@test", "to": "oncall@test",
                                                "require_tls": False,
                                                "send_resolved": True}]},
        ],
        "route": {"receiver": "log", "group_by": ["alertname"], "group_wait": "200ms",
                  "group_interval": "300ms", "repeat_interval": "1h", **route,
                  "routes": [{"receiver": "hook", "continue": True},
                             {"receiver": "slack", "continue": True},
                             {"receiver": "mail"}]},
        "inhibit_rules": [{"source_matchers": ["severity=critical"],
                           "target_matchers": ["severity=warning"], "equal": ["metric"]}],
    })


EXTRAS = Extras.model_validate({"tick": "50ms", "silence_refresh": "100ms",
                                 "retry_initial": "50ms", "retry_max": "200ms"})


@dataclass
class AlertStack:
    settings: Settings
    monitor: Monitor
    loop: MonitorLoop
    service: AlertManagerService
    http: HttpSink
    smtp: SmtpSink
    silences: SilenceRepository
    consumed: list[bytes]

    def notifications(self, receiver: str) -> list[dict[str, Any]]:
        """Webhook bodies, Slack messages or e-mails as {'status': ...} dicts, in order."""
        if receiver == "mail":
            return [{"status": "firing" if str(m["Subject"]).startswith("[FIRING")
                     else "resolved", "subject": str(m["Subject"])} for m in self.smtp.messages]
        return self.http.bodies(f"/{receiver}")

    def statuses(self, receiver: str) -> list[str]:
        if receiver == "slack":
            return ["firing" if b["text"].startswith("[FIRING") else "resolved"
                    for b in self.notifications("slack")]
        return [str(n["status"]) for n in self.notifications(receiver)]


async def _consume(consumer: AIOKafkaConsumer, stack: AlertStack) -> None:
    async for record in consumer:
        stack.consumed.append(record.value or b"")
        stack.service.handle(record.value)


@pytest.fixture
async def alert_stack(kafka_bootstrap: str, fresh_database_url: str,
                      unique_prefix: str) -> AsyncIterator[AlertStack]:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix,
                        app_id=f"{unique_prefix}-app")
    await ensure_topics(settings)
    await migrate(fresh_database_url)
    pool = await create_pool(fresh_database_url, 1, 2)
    http, smtp = HttpSink(), SmtpSink()
    await http.start()
    smtp.start()
    registry = CollectorRegistry()
    monitor = Monitor(registry)
    rules = parse_rules(RULES)
    engine = RuleEngine(rules, monitor.value, metrics=AlertMetrics(registry))
    publisher = Publisher(settings)
    await publisher.start()
    repo = SilenceRepository(pool)
    service = AlertManagerService(manager_config(http, smtp), extras=EXTRAS,
                                  registry=registry, silence_source=repo.active)
    stack = AlertStack(settings, monitor,
                       MonitorLoop(monitor, engine,
                                   AlertPublisher(publisher.publish, settings.topics.alerts)),
                       service, http, smtp, repo, [])
    consumer = AIOKafkaConsumer(settings.topics.alerts, bootstrap_servers=kafka_bootstrap,
                                group_id=f"{unique_prefix}-am", auto_offset_reset="earliest")
    await consumer.start()
    service.start()
    stop = asyncio.Event()

    async def evaluate_forever() -> None:
        while not stop.is_set():
            await stack.loop.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rules.evaluation_interval_s)

    tasks = [asyncio.create_task(_consume(consumer, stack)),
             asyncio.create_task(service.run(stop)), asyncio.create_task(evaluate_forever())]
    try:
        yield stack
    finally:
        stop.set()
        tasks[0].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await service.stop(drain_timeout_s=1.0)
        await consumer.stop()
        await publisher.stop()
        await pool.close()
        await http.stop()
        smtp.stop()
