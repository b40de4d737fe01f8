"""Two ``onexgen worker`` processes in one group: killing the alerts holder loses nothing.

Two real workers (same topic prefix, consumer group and database) consume a
stream of malformed requests spread over every requests partition, so each
worker's own monitor fires two rules: ``request_burst`` (any throughput; its
10 s window empties soon after the stream stops, so it resolves) and
``event_success_rate_low`` (dead letters; its 60 s window keeps it firing through
the test). The alerts topic has one partition: one worker runs the alert
manager and delivers to a real local webhook. The test finds that worker by
what it exposes (its ``onexgen_notifications_total{outcome="delivered"}``),
takes the webhook down, stops the stream, and waits until the holder has
consumed the ``request_burst`` resolves and is retrying their notification;
the group's committed offset must still be at or before the first of them
(offsets follow delivery). Then ``kill -9`` of the holder (or SIGTERM: a stopping
worker leaves what it holds unacknowledged), the webhook back up.

The survivor takes the partition over and reads again from the committed
offset. Lost: every alert that fired is notified firing, every resolve
published is notified resolved - none missing. Repeated: a notification is a
repeat when everything in it (alert and status) was delivered before the
kill; the new holder has no notification history, so each group still firing
is notified once more after its ``group_wait``, and a resolution delivered
but not yet committed (Faust commits every second) once more. Here the bound
checked is one per group (no resolution was delivered before the kill).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from onexgen.settings import TopicNames
from tests.harness import ResultWatcher, WorkerProcess
from tests.harness.kafka import collect, produce
from tests.harness.receivers import HttpSink, repeating, wait_until

pytestmark = pytest.mark.integration

RULES: dict[str, Any] = {
    "evaluation_interval_s": 0.2, "resend_interval_s": 1, "labels": {"service": "onexgen"},
    "rules": [
        {"name": "request_burst", "metric": "throughput_per_s", "threshold": 0,
         "comparison": ">", "severity": "warning", "for": 1,
         "summary": "requests are coming in (test rule: resolves 10 s after they stop)"},
        {"name": "event_success_rate_low", "metric": "event_success_rate", "threshold": 0.95,
         "comparison": "<", "severity": "warning", "for": 1,
         "summary": "Under 95% of requests end in a result"},
    ],
}


def write_configs(directory: Path, hook_url: str) -> dict[str, str]:
    manager = {"global": {"resolve_timeout": "4s"},
               "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "300ms",
                         "group_interval": "1s", "repeat_interval": "1h"},
               "receivers": [{"name": "hook", "webhook_configs": [
                   {"url": hook_url, "send_resolved": True}]}]}
    extras = {"tick": "100ms", "silence_refresh": "1s", "retry_initial": "100ms",
              "retry_max": "500ms", "retry_attempts": 100_000}
    files = {"ONEXGEN_ALERT_RULES_FILE": RULES, "ONEXGEN_ALERTMANAGER_CONFIG": manager,
             "ONEXGEN_ALERTING_EXTRAS": extras}
    env = {}
    for name, content in files.items():
        path = directory / f"{name.lower()}.yaml"
        path.write_text(yaml.safe_dump(content))
        env[name] = str(path)
    return env


def two_workers(bootstrap: str, database_url: str, prefix: str, directory: Path,
                env: dict[str, str]) -> dict[str, WorkerProcess]:
    """Workers ``a`` and ``b`` of one group (not started), instances ``worker-a``/``-b``."""
    return {name: WorkerProcess(
        bootstrap=bootstrap, database_url=database_url, prefix=prefix,
        log_file=directory / f"worker-{name}.log", extra_env={
            **env, "ONEXGEN_ALERT_INSTANCE": f"worker-{name}", "ONEXGEN_CODEGEN_WORKERS": "1"})
        for name in ("a", "b")}


def delivered(worker: WorkerProcess) -> float:
    """Notifications this worker's alert manager delivered (0 when it holds no alerts)."""
    total = 0.0
    for family in text_string_to_metric_families(worker.metrics()):
        for sample in family.samples:
            if sample.name == "onexgen_notifications_total" and \
                    sample.labels.get("outcome") == "delivered":
                total += sample.value
    return total


def alerts_in(bodies: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(alertname, instance, status) of every alert in the webhook bodies."""
    return {(a["labels"]["alertname"], a["labels"]["instance"], a["status"])
            for body in bodies for a in body["alerts"]}


def story(records: list[Any], workers: dict[str, WorkerProcess]) -> str:
    """The alerts topic and the workers' group events, to tell why an assertion failed."""
    lines = [f"{r.offset:4d} {v['rule']} {v['labels']['instance']} {v['status']}"
             for r in records for v in [orjson.loads(r.value)]]
    for name, worker in workers.items():
        text = worker.log_file.read_text() if worker.log_file.exists() else ""
        lines += [f"worker-{name}: {line[:300]}" for line in text.splitlines()
                  if any(w in line for w in ("assign", "revok", "rebalanc", "partition_lost",
                                              "notification_", "alertmanager_"))]
    return "\n".join(lines)


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[tp])
    finally:
        await admin.close()
    meta = offsets.get(tp)
    return -1 if meta is None else int(meta.offset)


@contextlib.asynccontextmanager
async def bad_requests(bootstrap: str, topic: str) -> AsyncIterator[None]:
    """Malformed requests, keyed over every partition, every 0.3 s for the block."""
    sent = 0

    async def send() -> None:
        nonlocal sent
        await produce(bootstrap, topic, [(f"bad-{sent + i}".encode(), b'{"request_id": ',
                                          []) for i in range(8)])
        sent += 8

    async with repeating(send, 0.3):
        yield


@pytest.mark.parametrize("ending", ["kill -9", "SIGTERM"])
async def test_kill_alerts_holder_other_worker_delivers_nothing_lost(
        kafka_bootstrap: str, fresh_database_url: str, unique_prefix: str,
        tmp_path: Path, ending: str) -> None:
    hook = HttpSink()
    await hook.start()
    env = write_configs(tmp_path, hook.url("/hook"))
    topics = TopicNames(unique_prefix)
    workers = two_workers(kafka_bootstrap, fresh_database_url, unique_prefix, tmp_path, {
        **env, "ONEXGEN_KAFKA_SESSION_TIMEOUT_S": "6", "ONEXGEN_KAFKA_HEARTBEAT_INTERVAL_S": "1"})
    try:
        for worker in workers.values():
            await asyncio.to_thread(worker.start)
        firing = {(rule["name"], f"worker-{n}", "firing") for rule in RULES["rules"]
                  for n in workers}
        async with bad_requests(kafka_bootstrap, topics.requests):
            await wait_until(lambda: alerts_in(hook.bodies("/hook")) >= firing, 120,
                             f"{sorted(firing)} at the webhook")
            counts = {n: await asyncio.to_thread(delivered, w) for n, w in workers.items()}
            holders = [n for n, c in counts.items() if c > 0]
            assert len(holders) == 1, f"exactly one worker delivers: {counts}"
            holder = holders[0]
            hook.down = True
        # --- the stream stops: request_burst resolves on both; the webhook is down -----
        records = await collect(kafka_bootstrap, topics.alerts, timeout_s=60, until=lambda rs: {
            orjson.loads(r.value)["labels"]["instance"] for r in rs
            if orjson.loads(r.value)["rule"] == "request_burst"
            and orjson.loads(r.value)["status"] == "resolved"} >= {"worker-a", "worker-b"})
        resolves = [r for r in records if orjson.loads(r.value)["status"] == "resolved"]
        assert {orjson.loads(r.value)["labels"]["instance"] for r in resolves} == {
            "worker-a", "worker-b"}
        refused = hook.refused
        # the holder consumed them and retries the resolved notification (0.1..0.5 s
        # backoff): five more refusals span more than Faust's 1 s commit interval
        await wait_until(lambda: hook.refused >= refused + 5, 60, "delivery retries")
        tp = TopicPartition(topics.alerts, 0)
        done = await committed(kafka_bootstrap, f"{unique_prefix}-app", tp)
        assert 0 <= done <= min(r.offset for r in resolves), \
            "a resolve not yet delivered must not be committed:\n" + story(records, workers)
        before = len(hook.bodies("/hook"))
        delivered_before = alerts_in(hook.bodies("/hook"))
        # --- kill -9 or stop the holder (its drain fails: the webhook is still down), ----
        # --- bring the webhook back ---------------------------------------------------------
        if ending == "kill -9":
            workers[holder].kill()
        else:
            assert await asyncio.to_thread(workers[holder].stop) == 0, "a clean stop"
        hook.down = False
        survivor = next(n for n in workers if n != holder)
        resolved = {("request_burst", "worker-a", "resolved"),
                    ("request_burst", "worker-b", "resolved"),
                    ("event_success_rate_low", f"worker-{holder}", "resolved")}
        await wait_until(lambda: alerts_in(hook.bodies("/hook")[before:]) >= resolved, 90,
                         f"{sorted(resolved)} from worker-{survivor}")
        after = hook.bodies("/hook")[before:]
        # lost: nothing that fired or resolved is missing at the receiver
        assert alerts_in(hook.bodies("/hook")) >= firing | resolved
        # repeated: notifications carrying nothing the receiver had not had before the kill
        repeats: dict[str, int] = {}
        for body in after:
            if alerts_in([body]) <= delivered_before:
                name = body["groupLabels"]["alertname"]
                repeats[name] = repeats.get(name, 0) + 1
        assert all(count <= 1 for count in repeats.values()), repeats
        assert set(repeats) <= {"event_success_rate_low"}, "request_burst resolved: no repeat"
        assert await asyncio.to_thread(delivered, workers[survivor]) >= len(after)
    finally:
        for worker in workers.values():
            await asyncio.to_thread(worker.stop)
        await hook.stop()


async def test_worker_joining_while_resolve_held_rebalances_and_delivers(
        kafka_bootstrap: str, fresh_database_url: str, unique_prefix: str,
        tmp_path: Path) -> None:
    """The holder holds an undelivered resolve when a second worker joins: the rebalance
    completes (Faust waits for held records; the agent acknowledges them when it
    starts) and the resolve is still delivered once the receiver is back."""
    hook = HttpSink()
    await hook.start()
    env = write_configs(tmp_path, hook.url("/hook"))
    topics = TopicNames(unique_prefix)
    workers = two_workers(kafka_bootstrap, fresh_database_url, unique_prefix, tmp_path, env)
    try:
        await asyncio.to_thread(workers["a"].start)
        async with bad_requests(kafka_bootstrap, topics.requests):
            await wait_until(lambda: ("request_burst", "worker-a", "firing") in alerts_in(
                hook.bodies("/hook")), 120, "request_burst firing at the webhook")
            hook.down = True
        refused = hook.refused
        await wait_until(lambda: hook.refused >= refused + 5, 90,
                         "the resolve's notification retried (held, not committed)")
        await asyncio.to_thread(workers["b"].start)  # joins: a rebalance
        request = {"node_type": "compute", "name": "Totals", "domain": "failover",
                   "description": "Aggregates order events into daily totals per customer.",
                   "operations": [{"name": "do_work", "description": "does the work"}],
                   "mixins": []}
        async with ResultWatcher(kafka_bootstrap, topics.results, key_prefix="join-") as seen:
            await produce(kafka_bootstrap, topics.requests, [
                (f"join-{i}".encode(), orjson.dumps({**request, "request_id": f"join-{i}"}),
                 []) for i in range(8)])
            await seen.expect(8, 90)  # every requests partition is consumed again
        hook.down = False
        await wait_until(lambda: ("request_burst", "worker-a", "resolved") in alerts_in(
            hook.bodies("/hook")), 60, "the held resolve delivered")
    finally:
        for worker in workers.values():
            await asyncio.to_thread(worker.stop)
        await hook.stop()
