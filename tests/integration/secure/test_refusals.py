"""Each way a secured deployment can be misconfigured stops the start with one line naming
the setting (or the ACL, or the grant) to fix: no hang, no retry loop, no plaintext."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.integration.secure.conftest import SecureStack, run_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("command", [("topics",), ("tail", "results", "--timeout", "1"),
                                     ("submit", "--no-progress", "-")])
def test_cli_with_wrong_password_fails_naming_password_setting(
        secure_stack: SecureStack, tmp_path: Path, command: tuple[str, ...]) -> None:
    env = {**secure_stack.kafka_env("admin"), "ONEXGEN_KAFKA_SASL_PASSWORD": "not-it"}
    code, line = run_cli(env, tmp_path, *command)
    assert code != 0
    assert "login refused for user 'admin'" in line and "ONEXGEN_KAFKA_SASL_PASSWORD" in line
    assert "not-it" not in line


def test_topics_trusting_another_ca_fails_naming_cafile_setting(
        secure_stack: SecureStack, tmp_path: Path) -> None:
    other = str(secure_stack.certs / "other-ca.crt")
    env = {**secure_stack.kafka_env("admin"), "ONEXGEN_KAFKA_SSL_CAFILE": other}
    code, line = run_cli(env, tmp_path, "topics")
    assert code != 0
    assert "certificate failed verification" in line
    assert f"ONEXGEN_KAFKA_SSL_CAFILE={other}" in line


def test_plaintext_client_at_tls_listener_fails_naming_protocol_setting(
        secure_stack: SecureStack, tmp_path: Path) -> None:
    env = {"ONEXGEN_KAFKA_BOOTSTRAP": secure_stack.bootstrap}
    code, line = run_cli(env, tmp_path, "topics")
    assert code != 0
    assert "speaks TLS" in line and "ONEXGEN_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in line


def test_credentials_without_tls_protocol_are_refused_before_connecting(
        secure_stack: SecureStack, tmp_path: Path) -> None:
    """A password with PLAINTEXT would be ignored and the client connect unprotected."""
    env = {**secure_stack.kafka_env("admin"), "ONEXGEN_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    code, line = run_cli(env, tmp_path, "topics")
    assert code != 0
    assert "ONEXGEN_KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not" in line


@pytest.mark.parametrize(("revoked", "named"), [
    ("requests:READ", "lacks the READ ACL on topic {p}.requests"),
    ("results:WRITE", "lacks the WRITE ACL on topic {p}.results"),
    ("group:READ", "lacks the READ ACL on consumer group {p}-app"),
])
def test_worker_missing_one_acl_fails_at_start_naming_it(
        secure_stack: SecureStack, secure_prefix: str, tmp_path: Path, revoked: str,
        named: str) -> None:
    app_id = f"{secure_prefix}-app"
    secure_stack.grant_worker_acls(secure_prefix, app_id)
    what, op = revoked.split(":")
    spec = f"group:{app_id}:{op},DESCRIBE" if what == "group" else \
        f"topic:{secure_prefix}.{what}:{op}"
    secure_stack.revoke("worker", spec)
    env = {**secure_stack.kafka_env("worker"), "ONEXGEN_TOPIC_PREFIX": secure_prefix,
           "ONEXGEN_APP_ID": app_id, "ONEXGEN_DATABASE_URL": secure_stack.database_url,
           "ONEXGEN_WEB_PORT": "0"}
    code, line = run_cli(env, tmp_path, "worker", timeout_s=90)
    assert code != 0
    assert named.format(p=secure_prefix) in line, line


@pytest.mark.parametrize(("query", "named"), [
    ("sslmode=disable", "takes TLS connections only"),
    ("sslmode=verify-full&sslrootcert={certs}/other-ca.crt", "certificate failed verification"),
    ("sslmode=verify-full&sslrootcert={certs}/missing.crt", "cannot be read"),
])
def test_migrate_with_bad_database_tls_fails_naming_url_setting(
        secure_stack: SecureStack, tmp_path: Path, query: str, named: str) -> None:
    base = secure_stack.database_url.partition("?")[0]
    url = f"{base}?{query.format(certs=secure_stack.certs)}"
    code, line = run_cli({"ONEXGEN_DATABASE_URL": url}, tmp_path, "migrate")
    assert code != 0
    assert named in line and "ONEXGEN_DATABASE_URL" in line
    assert secure_stack.database_url.split(":")[2].split("@")[0] not in line  # no password


async def test_worker_role_without_schema_create_fails_migrate_naming_grant(
        secure_stack: SecureStack, worker_database: tuple[str, str], tmp_path: Path) -> None:
    admin_url, worker_url = worker_database
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM onexgen_worker")
    finally:
        await conn.close()
    code, line = run_cli({"ONEXGEN_DATABASE_URL": worker_url}, tmp_path, "migrate")
    assert code != 0
    assert "permission denied for schema public" in line, line
