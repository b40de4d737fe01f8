"""A real Prometheus on the exported rules fires the same alert names as the built-in monitor.

The worker's metric registry - pipeline metrics, the monitor and the model
figure gauges (:class:`FigureFamilies`), exactly what ``onexgen worker`` serves
on ``/metrics`` - is served from an in-process aiohttp endpoint and scraped by a
real ``prometheus`` (Debian package ``prometheus``) every second, with the
shipped 21 rules exported by ``export-rules`` (``for`` shortened to 1 s,
interval 1 s). Breaches are induced through the same reporting calls the
batch processor, caches, template loader and learning side make: request
latency, dead letters (success rate), cache hit rate, template load time and
mixin accuracy. The alert names firing in Prometheus' ``/api/v1/alerts``
must equal those the built-in rule engine fires on the same monitor.

Not covered here (left to the full-system test's worker): the values come from
this process's registry, not from a worker process's own batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.families import FigureFamilies
from onexgen.alerting.promrules import export_rules
from onexgen.alerting.rules import DEFAULT_RULES_FILE, parse_rules
from onexgen.models.wire import ResultStatus
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor
from tests.harness.receivers import free_port, wait_until

pytestmark = pytest.mark.integration

INDUCED = {"event_latency_high", "event_latency_critical", "event_success_rate_low",
           "event_success_rate_critical", "cache_hit_rate_low", "cache_hit_rate_critical",
           "template_load_slow", "template_load_critical", "mixin_accuracy_low",
           "mixin_accuracy_critical"}


class Worker:
    """The worker's registry as ``onexgen worker`` builds it, served on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.metrics = PipelineMetrics(self.registry)
        self.monitor = Monitor(self.registry)
        self.registry.register(FigureFamilies(self.monitor.value))
        self.port = free_port()

    def breach_once(self) -> None:
        """One batch of 10: 5 answered after 2 s, 5 dead-lettered; poor cache, slow
        template loads, poor mixin predictions - each reported as its component does."""
        self.monitor.observe_batch(10, 2.0, 5, 0, 5, [2000.0] * 5)
        self.metrics.results_produced.labels(status=ResultStatus.SUCCEEDED.value).inc(5)
        self.metrics.dead_letters.labels(reason="invalid_request").inc(5)
        for _ in range(5):
            self.metrics.request_duration.observe(2.0)
        self.monitor.observe_cache("render", 30, 70)
        self.monitor.observe("template_load_duration_ms", 200.0)
        self.monitor.observe_ratio("mixin_accuracy", 5, 10)

    async def serve(self) -> web.AppRunner:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(self.registry),
                                content_type="text/plain")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner


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

    def firing(self) -> set[str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/alerts",
                                        timeout=2) as answer:
                body = orjson.loads(answer.read())
        except (urllib.error.URLError, OSError):
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            return set()
        return {a["labels"]["alertname"] for a in body["data"]["alerts"]
                if a["state"] == "firing"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    served = Worker()
    runner = await served.serve()
    yield served
    await runner.cleanup()


async def test_prometheus_on_exported_rules_fires_same_alerts_as_builtin(
        worker: Worker, tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["rules"] = [dict(r, **{"for": 1}) for r in data["rules"]]
    rules = parse_rules(data)
    rules_file = tmp_path / "onexgen.rules.yml"
    export_rules(rules, rules_file, interval_s=1)
    engine = RuleEngine(rules, worker.monitor.value)
    stop = asyncio.Event()

    async def feed() -> None:
        while not stop.is_set():
            worker.breach_once()
            engine.evaluate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    feeder = asyncio.create_task(feed())
    prometheus = Prometheus(tmp_path, worker.port, rules_file)
    try:
        await wait_until(lambda: prometheus.firing() >= INDUCED, 60,
                         f"Prometheus to fire {sorted(INDUCED)}")
        builtin = {s.rule.name for s in engine.states if s.state == "firing"}
        assert builtin == INDUCED
        assert prometheus.firing() == builtin
    finally:
        stop.set()
        await feeder
        prometheus.stop()
