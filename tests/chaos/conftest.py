"""Fault-test fixtures: brokers and databases of a test's own, which it may stop and start.

They run from ``.local/`` (not the pytest temp dir, which the ``postgres`` user
cannot enter) with the Kafka jars the main stack already fetched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.harness import ROOT, WorkerProcess, scratch_database

LOCAL = ROOT / ".local"


class Service:
    """``infra/kafka.sh`` or ``infra/postgres.sh`` on a state directory of its own."""

    def __init__(self, script: str, state: Path) -> None:
        self.script = ROOT / "infra" / script
        self.state = state
        self.address = ""

    def _run(self, action: str) -> str:
        env = {**os.environ, "ONEXGEN_LOCAL_DIR": str(self.state),
               "ONEXGEN_KAFKA_LIBS": str(LOCAL / "kafka" / "libs")}
        done = subprocess.run([str(self.script), action], env=env, capture_output=True,
                              text=True, timeout=180, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{self.script.name} {action} failed: {done.stderr[-2000:]}")
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self) -> str:
        self.address = self._run("start")
        return self.address

    def stop(self) -> None:
        self._run("stop")

    def clean(self) -> None:
        self._run("clean")
        shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture
def private_kafka() -> Iterator[Service]:
    service = Service("kafka.sh", LOCAL / f"chaos-{uuid.uuid4().hex[:8]}")
    service.start()
    try:
        yield service
    finally:
        service.clean()


@pytest.fixture
def private_postgres() -> Iterator[Service]:
    state = LOCAL / f"chaos-{uuid.uuid4().hex[:8]}"
    state.mkdir(parents=True)
    state.chmod(0o755)
    service = Service("postgres.sh", state)
    service.start()
    try:
        yield service
    finally:
        service.clean()


@pytest.fixture
async def worker_db(database_url: str) -> AsyncIterator[str]:
    """A fresh database on the shared server for one test's workers."""
    async with scratch_database(database_url, "chaos") as url:
        yield url


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Workers a test starts; whatever is still running at the end is killed."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.kill()
