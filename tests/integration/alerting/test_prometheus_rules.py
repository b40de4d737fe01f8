"""A real Prometheus scraping a real ``onexgen worker`` fires the same alerts as its monitor.

One ``onexgen worker`` process (its own topics and database, the shipped 21
rules with ``for`` shortened to 1 s, the built-in notifier off) is scraped every
second by a real ``prometheus`` (Debian package ``prometheus``) loading the same
rules exported by ``export-rules``. Breaches are induced through the worker's
real inputs only, continuously (Prometheus' ``rate()`` needs increases between
scrapes):

* **lag / latency** - requests whose Kafka timestamp is 3 s old: to the worker
  exactly a partition 3 s behind (the latency is measured from the request's
  timestamp), so ``event_latency_*`` fire;
* **dead letters** - malformed requests beside them: ``event_success_rate_*``;
* **cache** - every valid request is the same one: answered from the output
  cache, so the template cache sees only the first render's loads (misses) and
  the few re-uses within it: ``cache_hit_rate_low`` (the ratio lands between
  0.6 and 0.7 with the shipped templates, so not ``_critical``);
* **model** - mixin feedback that contradicts itself (the same combination
  working and failing): the model's verdicts are half wrong, ``mixin_accuracy_*``
  (and whatever else the model figures breach, on both sides alike).

The built-in side is read where operators read it, the worker's alerts topic
(last status per rule); the test waits until the alert names firing in
Prometheus' ``/api/v1/alerts`` equal it and include the induced ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from onexgen.alerting.promrules import export_rules
from onexgen.alerting.rules import DEFAULT_RULES_FILE, parse_rules
from onexgen.settings import Settings
from onexgen.streams.topics import ensure_topics
from tests.harness import WorkerProcess
from tests.harness.receivers import free_port, repeating, wait_until

pytestmark = pytest.mark.integration

INDUCED = {"event_latency_high", "event_latency_critical", "event_success_rate_low",
           "event_success_rate_critical", "cache_hit_rate_low", "mixin_accuracy_low",
           "mixin_accuracy_critical"}
LAG_S = 3.0
REQUEST = {"node_type": "compute", "name": "Totals", "domain": "promtest",
           "description": "Aggregates order events into daily totals per customer.",
           "operations": [{"name": "do_work", "description": "does the work"}], "mixins": []}


class Prometheus:
    def __init__(self, directory: Path, target_port: int, rules_file: Path) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus not found: `apt-get install -y prometheus` "
                        "(infra/system-deps.sh installs it when run as root)")
        self.port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(rules_file)],
                  "scrape_configs": [{"job_name": "onexgen-worker", "static_configs": [
                      {"targets": [f"127.0.0.1:{target_port}"],
                       "labels": {"service": "onexgen"}}]}]}
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        with (directory / "prometheus.log").open("wb") as log:
            self.proc = subprocess.Popen([
                binary, f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT)
        self.log = directory / "prometheus.log"

    def api(self, path: str) -> Any:
        """The ``data`` of a Prometheus API answer; None while it is not answering yet."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=2) as answer:
                return orjson.loads(answer.read())["data"]
        except (urllib.error.URLError, OSError):
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            return None

    def firing(self) -> set[str]:
        data = self.api("/api/v1/alerts")
        return set() if data is None else {
            a["labels"]["alertname"] for a in data["alerts"] if a["state"] == "firing"}

    def scraped(self) -> bool:
        """The worker target was scraped successfully (``up`` is 1)."""
        data = self.api("/api/v1/query?query=up")
        return data is not None and any(r["value"][1] == "1" for r in data["result"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.asynccontextmanager
async def induced(settings: Settings) -> AsyncIterator[None]:
    """Every 0.3 s: lagging requests (valid, all the same; malformed) and contradicting
    mixin feedback, until the block ends."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    n = 0

    async def send() -> None:
        nonlocal n
        lagging = int((time.time() - LAG_S) * 1000)
        for _ in range(4):
            n += 1
            good = orjson.dumps({**REQUEST, "request_id": f"prom-{n}"})
            await producer.send(settings.topics.requests, good, key=f"g{n}".encode(),
                                timestamp_ms=lagging)
            await producer.send(settings.topics.requests, b'{"request_id": ',
                                key=f"b{n}".encode(), timestamp_ms=lagging)
        for works in (True, False):
            await producer.send(settings.topics.feedback, orjson.dumps({
                "kind": "mixin", "node_type": "effect", "mixins": ["Retry", "Caching"],
                "success": works, "request_id": f"fb-{n}-{works}"}))
        await producer.flush()

    try:
        async with repeating(send, 0.3):
            yield
    finally:
        await producer.stop()


class AlertsTopic:
    """The worker's alerts, as its monitor published them: the last status per rule."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = AIOKafkaConsumer(settings.topics.alerts,
                                         bootstrap_servers=settings.kafka_bootstrap,
                                         group_id=None, auto_offset_reset="earliest")
        self.status: dict[str, str] = {}

    def firing(self) -> set[str]:
        return {rule for rule, status in self.status.items() if status == "firing"}

    async def follow(self) -> None:
        async for record in self.consumer:
            alert = orjson.loads(record.value)
            self.status[alert["rule"]] = alert["status"]


async def test_prometheus_scraping_worker_process_fires_same_alerts_as_builtin(
        kafka_bootstrap: str, fresh_database_url: str, unique_prefix: str,
        tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["rules"] = [dict(r, **{"for": 1}) for r in data["rules"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(data))
    export_rules(parse_rules(data), tmp_path / "onexgen.rules.yml", interval_s=1)
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix,
                        app_id=f"{unique_prefix}-app")
    await ensure_topics(settings)
    worker = WorkerProcess(
        bootstrap=kafka_bootstrap, database_url=fresh_database_url, prefix=unique_prefix,
        log_file=tmp_path / "worker.log", extra_env={
            "ONEXGEN_ALERT_RULES_FILE": str(tmp_path / "rules.yaml"),
            "ONEXGEN_ALERT_NOTIFIER": "off", "ONEXGEN_CODEGEN_WORKERS": "1"})
    prometheus = Prometheus(tmp_path, worker.port, tmp_path / "onexgen.rules.yml")
    alerts = AlertsTopic(settings)
    await alerts.consumer.start()
    follower = asyncio.create_task(alerts.follow())
    try:
        await asyncio.to_thread(worker.start)
        # a scrape before the first breach: rate() counts increases from there
        await wait_until(prometheus.scraped, 30, "Prometheus to scrape the worker")
        async with induced(settings):
            await wait_until(lambda: prometheus.firing() == alerts.firing() >= INDUCED, 90,
                             f"the same alerts, at least {sorted(INDUCED)}, firing in "
                             f"Prometheus and on the alerts topic")
        rendered = [line for line in (await asyncio.to_thread(worker.metrics)).splitlines()
                    if line.startswith('onexgen_stage_duration_seconds_count{stage="render"}')]
        assert rendered and float(rendered[0].split()[-1]) >= 1, "the render stage is timed"
    except AssertionError as exc:
        raise AssertionError(f"{exc}: Prometheus {sorted(prometheus.firing())}, "
                             f"built-in {sorted(alerts.firing())}") from None
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await alerts.consumer.stop()
        prometheus.stop()
        assert await asyncio.to_thread(worker.stop) == 0, worker.stderr_path.read_text()[-3000:]
