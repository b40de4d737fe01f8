"""Certificates on the real secured stack: an expired broker or Postgres certificate, and
the worker role's Postgres client certificate (pg_hba ``cert``: no password at all).

Each refusal is one line at start naming what to fix; the expired broker certificate is
the broker's own EXPIRED listener (a keystore of its own, signed by the same CA).
"""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg
import pytest

from tests.integration.secure.conftest import SecureStack, run_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("command", [("topics",), ("submit", "--no-progress", "-"),
                                     ("worker",)])
def test_client_at_listener_with_expired_certificate_fails_naming_broker_keystore(
        secure_stack: SecureStack, secure_prefix: str, tmp_path: Path,
        command: tuple[str, ...]) -> None:
    env = {**secure_stack.kafka_env("admin"),
           "ONEXGEN_KAFKA_BOOTSTRAP": secure_stack.env["ONEXGEN_STACK_KAFKA_EXPIRED_BOOTSTRAP"],
           "ONEXGEN_TOPIC_PREFIX": secure_prefix, "ONEXGEN_WEB_PORT": "0",
           "ONEXGEN_DATABASE_URL": secure_stack.database_url}
    code, line = run_cli(env, tmp_path, *command, timeout_s=90)
    assert code != 0
    assert "certificate failed verification (certificate has expired)" in line, line
    assert "ssl.keystore.location" in line and "ONEXGEN_KAFKA_SSL_CAFILE" in line


def _with_client_cert(url: str, certs: Path, name: str | None) -> str:
    """``url`` (the worker role's) with ``name``'s certificate and key, or with none."""
    base, _, query = url.partition("?")
    params = [p for p in query.split("&") if not p.startswith(("sslcert=", "sslkey="))]
    if name is not None:
        params += [f"sslcert={certs / name}.crt", f"sslkey={certs / name}.key"]
    return f"{base}?{'&'.join(params)}"


async def test_worker_role_logs_in_with_client_certificate_and_no_password(
        secure_stack: SecureStack, worker_database: tuple[str, str], tmp_path: Path) -> None:
    _, worker_url = worker_database
    assert "@" in worker_url and ":" not in worker_url.split("//")[1].split("@")[0]
    code, line = run_cli({"ONEXGEN_DATABASE_URL": worker_url}, tmp_path, "migrate")
    assert code == 0, line
    conn = await asyncpg.connect(worker_url)
    try:
        row = await conn.fetchrow("SELECT current_user, ssl, client_dn FROM pg_stat_ssl "
                                  "WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    assert row is not None
    assert (row["current_user"], row["ssl"], row["client_dn"]) == \
        ("onexgen_worker", True, "/CN=onexgen_worker")


@pytest.mark.parametrize(("client_cert", "command", "named"), [
    (None, "migrate", "requires a client certificate for this role"),
    (None, "worker", "requires a client certificate for this role"),
    ("client", "migrate", "refused the client certificate for this role"),
    ("worker-expired", "migrate", "worker-expired.crt expired on 2020-02-01"),
])
def test_worker_role_with_missing_or_wrong_client_certificate_is_refused_naming_setting(
        secure_stack: SecureStack, worker_database: tuple[str, str], secure_prefix: str,
        tmp_path: Path, client_cert: str | None, command: str, named: str) -> None:
    _, worker_url = worker_database
    env = {**secure_stack.kafka_env("admin"), "ONEXGEN_TOPIC_PREFIX": secure_prefix,
           "ONEXGEN_WEB_PORT": "0",
           "ONEXGEN_DATABASE_URL": _with_client_cert(worker_url, secure_stack.certs,
                                                     client_cert)}
    started = time.monotonic()
    code, line = run_cli(env, tmp_path, command, timeout_s=90)
    assert code != 0
    assert named in line, line
    assert "ONEXGEN_DATABASE_URL" in line and "sslcert=" in line
    # Refused, not retried as an outage (the pool's five attempts back off for seconds).
    assert "gave up after" not in line
    assert time.monotonic() - started < 60


def test_migrate_when_postgres_serves_expired_certificate_fails_naming_server_cert(
        secure_stack: SecureStack, tmp_path: Path) -> None:
    env = {"ONEXGEN_DATABASE_URL": secure_stack.database_url}
    secure_stack.serve_postgres_certificate("broker-expired")
    try:
        # The reload is asynchronous: new connections get the expired one soon after.
        deadline = time.monotonic() + 30
        code, line = run_cli(env, tmp_path, "migrate")
        while code == 0 and time.monotonic() < deadline:
            code, line = run_cli(env, tmp_path, "migrate")
        assert code != 0
        assert "failed verification (certificate has expired); renew it on the server" in line, line
        assert "ssl_cert_file" in line and "ONEXGEN_DATABASE_URL" in line
    finally:
        secure_stack.serve_postgres_certificate("server")
    deadline = time.monotonic() + 30
    while run_cli(env, tmp_path, "migrate")[0] != 0:
        assert time.monotonic() < deadline, "Postgres did not take its certificate back"
