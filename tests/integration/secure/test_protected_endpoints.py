"""The worker's endpoints behind an exporter-toolkit web config: TLS and basic auth on
every route, and a real Prometheus scraping through both with the matching credentials."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import yaml

from tests.harness import ROOT, WorkerProcess, free_port
from tests.integration.secure.conftest import SecureStack

pytestmark = pytest.mark.integration

ROUTES = ["/metrics", "/health", "/ready", "/dashboard", "/dashboard.json"]


@pytest.fixture(scope="module")
def protected_worker(secure_stack: SecureStack, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[WorkerProcess, str]]:
    tmp = tmp_path_factory.mktemp("web")
    password = secrets.token_urlsafe(12)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    config = tmp / "web-config.yml"
    config.write_text(
        "tls_server_config:\n"
        f"  cert_file: {secure_stack.certs / 'server.crt'}\n"
        f"  key_file: {secure_stack.certs / 'server.key'}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    prefix = f"w{secrets.token_hex(5)}"
    proc = WorkerProcess(bootstrap=secure_stack.bootstrap,
                         database_url=secure_stack.database_url, prefix=prefix,
                         log_file=tmp / "worker.log",
                         extra_env={**secure_stack.kafka_env("admin"),
                                    "ONEXGEN_WEB_CONFIG_FILE": str(config)},
                         web_cafile=secure_stack.certs / "ca.crt",
                         web_auth=("prometheus", password))
    proc.start()
    try:
        yield proc, password
    finally:
        assert proc.stop() == 0, proc.stderr_path.read_text()[-3000:]


def _status(url: str, cafile: Path | None, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", auth)
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_every_endpoint_refuses_unauthenticated_and_wrong_password_with_401(
        protected_worker: tuple[WorkerProcess, str], secure_stack: SecureStack) -> None:
    worker, _ = protected_worker
    wrong = "Basic " + base64.b64encode(b"prometheus:guess").decode()
    for route in ROUTES:
        assert _status(worker.url + route, secure_stack.certs / "ca.crt") == 401, route
        assert _status(worker.url + route, secure_stack.certs / "ca.crt", wrong) == 401, route


def test_every_endpoint_answers_with_right_credentials_over_tls(
        protected_worker: tuple[WorkerProcess, str]) -> None:
    worker, password = protected_worker
    right = "Basic " + base64.b64encode(f"prometheus:{password}".encode()).decode()
    for route in ROUTES:
        status = _status(worker.url + route, worker.web_cafile, right)
        # /health and /ready answer 503 while a check misses its 100 ms budget (a loaded
        # machine): still the endpoint's answer, not a refusal.
        assert status == 200 or (route in ("/health", "/ready") and status == 503), \
            (route, status)


def test_plain_http_to_tls_endpoint_gets_no_answer(
        protected_worker: tuple[WorkerProcess, str]) -> None:
    worker, _ = protected_worker
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5).close()


def test_prometheus_scrapes_worker_through_tls_and_basic_auth(
        protected_worker: tuple[WorkerProcess, str], secure_stack: SecureStack,
        tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: apt-get install prometheus", pytrace=False)
    worker, password = protected_worker
    (tmp_path / "password").write_text(password)
    port = free_port()
    # The example config's own scrape job, pointed at this worker, its CA and password.
    example = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    job = example["scrape_configs"][0]
    assert job["scheme"] == "https" and job["basic_auth"]["username"] == "prometheus"
    job["tls_config"]["ca_file"] = str(secure_stack.certs / "ca.crt")
    job["basic_auth"]["password_file"] = str(tmp_path / "password")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{worker.port}"]}]
    job["scrape_interval"], job["scrape_timeout"] = "1s", "900ms"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    with (tmp_path / "log").open("wb") as log:
        proc = subprocess.Popen([binary, f"--config.file={config}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/api/v1/targets"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    targets = json.loads(resp.read())["data"]["activeTargets"]
                if targets and targets[0]["health"] != "unknown":
                    health = targets[0]
                    if health["health"] == "up":
                        break
            except OSError:
                pass
            time.sleep(0.5)
        assert health is not None and health["health"] == "up", health
        query = f"http://127.0.0.1:{port}/api/v1/query?query=up"
        with urllib.request.urlopen(query, timeout=5) as resp:
            result = json.loads(resp.read())["data"]["result"]
        assert [r["value"][1] for r in result] == ["1"]
    finally:
        proc.terminate()
        proc.wait(30)
