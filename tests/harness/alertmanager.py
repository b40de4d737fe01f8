"""A real Prometheus Alertmanager process on a free loopback port, for tests and benchmarks.

Debian's ``prometheus-alertmanager`` package gives the binary
(``infra/system-deps.sh`` installs it). Clustering is off
(``--cluster.listen-address=``), state lives in a temporary directory, and
:meth:`AlertmanagerProcess.start` returns once ``/-/ready`` answers.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from tests.harness.receivers import free_port

__all__ = ["AlertmanagerProcess", "alertmanager_binary"]


def alertmanager_binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise AssertionError("Alertmanager not found: `apt-get install -y prometheus-alertmanager` "
                         "(infra/system-deps.sh installs it when run as root)")


class AlertmanagerProcess:
    def __init__(self, config: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="onexgen-am-"))
        self.config_file = self._dir / "alertmanager.yml"
        self.config_file.write_text(config)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        with (self._dir / "alertmanager.log").open("wb") as log:  # the child keeps its copy
            self._proc = subprocess.Popen([
                alertmanager_binary(), f"--config.file={self.config_file}",
                f"--storage.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
                "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise AssertionError("Alertmanager exited: " + self.log()[-2000:])
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"Alertmanager not ready after {timeout_s} s: "
                                     + self.log()[-2000:])
            time.sleep(0.05)

    def log(self) -> str:
        path = self._dir / "alertmanager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: every alert Alertmanager holds, with its status."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:
            result: list[dict[str, Any]] = orjson.loads(answer.read())
            return result

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(f"{self.url}/api/v2/alerts", data=orjson.dumps(alerts),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)
