"""A real ``onexgen worker`` process, driven from tests and benchmarks.

Runs ``python -m onexgen worker`` with its own topic prefix, consumer group,
database and web port, and waits for ``/ready``; stops it with SIGTERM (a
graceful drain) or SIGKILL (a crash, for fault tests).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerProcess:
    """Starts ``python -m onexgen worker`` and waits for ``/ready``; stops it with SIGTERM."""

    def __init__(self, *, bootstrap: str, database_url: str, prefix: str, log_file: Path,
                 log_level: str = "INFO", extra_env: dict[str, str] | None = None,
                 python: str | None = None, cwd: Path | None = None,
                 web_cafile: Path | None = None, web_auth: tuple[str, str] | None = None
                 ) -> None:
        self.port = free_port()
        self.web_cafile, self.web_auth = web_cafile, web_auth
        """With ONEXGEN_WEB_CONFIG_FILE in ``extra_env``: the CA its TLS certificate is
        signed by (https then) and the basic-auth user and password to send."""
        self.python = python or sys.executable
        """The worker's interpreter (its pool processes use the same): this one by default."""
        self.cwd = cwd or ROOT
        """Where it runs; ``python -m`` imports from here first, so a checkout of another
        commit runs that commit's code."""
        self.log_file = log_file
        self.env = {
            **os.environ,
            "ONEXGEN_KAFKA_BOOTSTRAP": bootstrap,
            "ONEXGEN_DATABASE_URL": database_url,
            "ONEXGEN_TOPIC_PREFIX": prefix,
            "ONEXGEN_APP_ID": f"{prefix}-app",
            "ONEXGEN_WEB_PORT": str(self.port),
            "ONEXGEN_LOG_LEVEL": log_level,
            "ONEXGEN_LOG_FILE": str(log_file),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = log_file.with_suffix(".stderr")

    @property
    def url(self) -> str:
        return f"{'https' if self.web_cafile else 'http'}://127.0.0.1:{self.port}"

    def get(self, path: str, timeout_s: float = 5) -> Any:
        """GET ``path`` with the worker's web TLS and credentials (a response to close)."""
        request = urllib.request.Request(f"{self.url}{path}")
        if self.web_auth:
            token = base64.b64encode(":".join(self.web_auth).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.web_cafile)) \
            if self.web_cafile else None
        return urllib.request.urlopen(request, timeout=timeout_s, context=context)

    def start(self, timeout_s: float = 90.0) -> None:
        with self.stderr_path.open("ab") as stderr:  # the child keeps its own descriptor
            # The interpreter is the caller's own choice (tests, bench_pairs); no shell.
            self.proc = subprocess.Popen([self.python, "-m", "onexgen", "worker"], cwd=self.cwd,
                                         env=self.env, stdout=stderr, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: "
                                   f"{self.stderr_path.read_text()[-3000:]}")
            try:
                with self.get("/ready", timeout_s=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        tail = self.stderr_path.read_text()[-3000:]
        raise RuntimeError(f"worker not ready in {timeout_s}s: {tail}")

    def metrics(self) -> str:
        with self.get("/metrics") as resp:
            return str(resp.read().decode())

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def running_worker(*, bootstrap: str, database_url: str, prefix: str,
                   extra_env: dict[str, str] | None = None, python: str | None = None,
                   cwd: Path | None = None, start_timeout_s: float = 90.0
                   ) -> Iterator[WorkerProcess]:
    """A started worker (log in a temporary directory) for the block; stopped after it.

    Benchmarks pass a longer ``start_timeout_s``: on a loaded machine a worker can take
    more than the tests' 90 s to be ready.
    """
    with tempfile.TemporaryDirectory(prefix="onexgen-worker-") as tmp:
        worker = WorkerProcess(bootstrap=bootstrap, database_url=database_url, prefix=prefix,
                               log_file=Path(tmp) / "worker.log", extra_env=extra_env,
                               python=python, cwd=cwd)
        worker.start(timeout_s=start_timeout_s)
        try:
            yield worker
        finally:
            worker.stop()


@asynccontextmanager
async def scratch_database(server_url: str, prefix: str = "scratch") -> AsyncIterator[str]:
    """A new database on the server for the duration of the block, then dropped.

    Tests and benchmarks each get their own, so nothing they write meets another's rows.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, sep, query = server_url.partition("?")  # keeps sslmode= and the like
    try:
        yield f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def wait_for_count(url: str, sql: str, expected: int, timeout_s: float = 30.0) -> int:
    """Poll ``sql`` until it returns at least ``expected`` (rows are written in the
    background) or ``timeout_s`` passes; the last value read."""
    deadline = time.monotonic() + timeout_s
    conn = await asyncpg.connect(url)
    try:
        while True:
            value = int(await conn.fetchval(sql))
            if value >= expected or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
