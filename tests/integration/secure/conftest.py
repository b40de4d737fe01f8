"""The secured stack (SASL_SSL + SCRAM-SHA-512 + ACLs, Postgres TLS only) for these tests.

Started once per session beside the plaintext one, under ``.local/secure`` with its own
free ports (``infra/stack.sh up`` with ``ONEXGEN_STACK=secure``), and stopped after it.
A missing binary fails the session with the script's message naming the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from onexgen.settings import Settings
from tests.harness import ROOT, WorkerProcess, scratch_database

LOCAL = Path(os.environ.get("ONEXGEN_LOCAL_DIR") or ROOT / ".local") / "secure"
"""Beside the plaintext stack's state (``ONEXGEN_LOCAL_DIR`` moves both)."""


@dataclass(frozen=True)
class SecureStack:
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.env["ONEXGEN_KAFKA_BOOTSTRAP"]

    @property
    def database_url(self) -> str:
        return self.env["ONEXGEN_DATABASE_URL"]

    @property
    def certs(self) -> Path:
        return Path(self.env["ONEXGEN_STACK_CERTS"])

    def kafka_env(self, user: str = "admin") -> dict[str, str]:
        """The ``ONEXGEN_KAFKA_*`` variables a client of ``user`` needs."""
        env = {k: v for k, v in self.env.items()
               if k.startswith("ONEXGEN_KAFKA_") or k == "ONEXGEN_KAFKA_BOOTSTRAP"}
        env["ONEXGEN_KAFKA_SASL_USERNAME"] = user
        env["ONEXGEN_KAFKA_SASL_PASSWORD"] = self.password(user)
        return env

    def password(self, user: str) -> str:
        return {"admin": self.env["ONEXGEN_KAFKA_SASL_PASSWORD"],
                "worker": self.env["ONEXGEN_STACK_KAFKA_WORKER_PASSWORD"],
                "noacl": self.env["ONEXGEN_STACK_KAFKA_NOACL_PASSWORD"]}[user]

    def settings(self, user: str = "admin", **overrides: Any) -> Settings:
        values: dict[str, Any] = {k.removeprefix("ONEXGEN_").lower(): v
                                  for k, v in self.kafka_env(user).items()}
        values.update(overrides)
        return Settings(**values)

    def client_kwargs(self, user: str = "admin") -> dict[str, Any]:
        return self.settings(user).kafka_client_kwargs()

    def grant_worker_acls(self, prefix: str, app_id: str, user: str = "worker") -> None:
        """The ACLs docs/operations.md lists, for ``prefix``'s topics and ``app_id``'s group."""
        _infra("kafka.sh", "worker-acls", user, prefix, app_id)

    def least_privilege_worker(self, prefix: str, database_url: str, log_file: Path,
                               **extra_env: str) -> WorkerProcess:
        """A worker (not started yet) as the ``worker`` user holding only the documented
        ACLs, for ``prefix``'s topics and its group ``<prefix>-app``."""
        self.grant_worker_acls(prefix, f"{prefix}-app")
        return WorkerProcess(bootstrap=self.bootstrap, database_url=database_url,
                             prefix=prefix, log_file=log_file,
                             extra_env={**self.kafka_env("worker"), **extra_env})

    def revoke(self, user: str, *specs: str) -> None:
        self._acl("remove", user, *specs)

    def grant(self, user: str, *specs: str) -> None:
        self._acl("add", user, *specs)

    def _acl(self, action: str, user: str, *specs: str) -> None:
        """``specs`` as infra/secure/Acls.java reads them: TYPE:NAME:OP[,OP...]."""
        _infra("kafka.sh", "acl", action, str(LOCAL / "kafka" / "admin.properties"),
               f"User:{user}", *specs)

    def serve_postgres_certificate(self, name: str) -> None:
        """Postgres serves ``certs/<name>.{crt,key}`` to new connections (a reload)."""
        _infra("postgres.sh", "server-cert", name)


def _stack_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ONEXGEN_KAFKA_BOOTSTRAP", "ONEXGEN_DATABASE_URL")}
    env.update(ONEXGEN_STACK="secure", ONEXGEN_LOCAL_DIR=str(LOCAL))
    env.setdefault("ONEXGEN_KAFKA_LIBS", str(ROOT / ".local" / "kafka" / "libs"))
    return env


def _infra(script: str, *args: str) -> str:
    done = subprocess.run([str(ROOT / "infra" / script), *args], env=_stack_env(),
                          capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        pytest.fail(f"infra/{script} {args[0]} failed:\n{done.stderr[-3000:]}", pytrace=False)
    return done.stdout


def run_cli(env: dict[str, str], cwd: Path, *args: str, timeout_s: float = 120
            ) -> tuple[int, str]:
    """``onexgen ARGS`` with only ``env`` (no stack.env fallback); exit code, last line."""
    done = subprocess.run([sys.executable, "-m", "onexgen", *args], cwd=cwd, input="",
                          env={"PATH": "/usr/bin:/bin", "ONEXGEN_ROOT": str(cwd), **env},
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    lines = [line for line in done.stderr.splitlines() if line.startswith("onexgen: ")]
    return done.returncode, lines[-1] if lines else done.stderr[-2000:]


@pytest.fixture(scope="session")
def secure_stack() -> Iterator[SecureStack]:
    _infra("stack.sh", "up")
    pairs = (line.partition("=") for line in (LOCAL / "stack.env").read_text().splitlines())
    try:
        yield SecureStack({k: v.strip("'") for k, sep, v in pairs if sep})
    finally:
        _infra("stack.sh", "down")


@pytest.fixture
async def worker_database(secure_stack: SecureStack) -> AsyncIterator[tuple[str, str]]:
    """A scratch database and the worker role's URL for it, with only the documented grants:
    CONNECT on the database, USAGE and CREATE on its schema public."""
    async with scratch_database(secure_stack.database_url, "sec") as admin_url:
        name = admin_url.partition("?")[0].rpartition("/")[2]
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO onexgen_worker')
            await conn.execute("GRANT USAGE, CREATE ON SCHEMA public TO onexgen_worker")
        finally:
            await conn.close()
        worker = secure_stack.env["ONEXGEN_STACK_DATABASE_WORKER_URL"]
        base, sep, query = worker.partition("?")
        yield admin_url, f"{base.rpartition('/')[0]}/{name}{sep}{query}"


@pytest.fixture
def secure_prefix() -> str:
    return f"s{uuid.uuid4().hex[:10]}"
