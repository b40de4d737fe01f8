"""The whole pipeline on the secured stack, with a worker holding only the documented rights.

Kafka: SASL_SSL + SCRAM-SHA-512, ACLs enforced (allow.everyone.if.no.acl.found=false);
the worker's user has exactly the ACLs docs/operations.md lists. Postgres: TLS only
(hostssl), the worker's role exactly the documented grants. Requests become results,
malformed ones dead letters, feedback rows; a burst of malformed ones breaks
``event_success_rate`` and the alert goes over the secured alerts topic to the alert-manager
agent, which delivers it to a local webhook; the CLI submits and tails; and no client
connected in plaintext (the broker has no plaintext listener to offer, and every
Postgres session of the worker's role is TLS, with the role's client certificate).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import orjson
import pytest

from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import wait_for_count
from tests.harness.kafka import Outgoing, collect, header, produce
from tests.harness.receivers import HttpSink, wait_until
from tests.integration.secure.conftest import LOCAL, SecureStack
from tests.integration.test_full_system import write_configs
from tests.integration.test_pipeline_e2e import make_request

pytestmark = pytest.mark.integration


async def test_least_privilege_worker_on_secured_stack_runs_whole_pipeline(
        secure_stack: SecureStack, worker_database: tuple[str, str], secure_prefix: str,
        tmp_path: Path) -> None:
    admin_url, worker_url = worker_database
    topics = TopicNames(secure_prefix)
    admin = secure_stack.client_kwargs("admin")
    hook = HttpSink()
    await hook.start()
    rules_file, manager_file = write_configs(tmp_path, hook.url("/hook"))
    proc = secure_stack.least_privilege_worker(
        secure_prefix, worker_url, tmp_path / "worker.log",
        ONEXGEN_ALERT_RULES_FILE=str(rules_file), ONEXGEN_ALERTMANAGER_CONFIG=str(manager_file),
        ONEXGEN_ALERTING_EXTRAS=str(tmp_path / "extras.yaml"))
    proc.start()
    try:
        tag = uuid.uuid4().hex[:8]
        requests = [make_request(i, tag) for i in range(20)]
        bad = [b"not json", b'{"request_id": "x", "node_type": "teleporter"}']
        await produce(secure_stack.bootstrap, topics.requests,
                      [(str(r["request_id"]).encode(), orjson.dumps(r), []) for r in requests]
                      + [(None, value, [("correlation-id", f"{tag}-bad".encode())])
                         for value in bad], **admin)
        feedback = {"kind": "mixin", "node_type": "orchestrator", "mixins": ["Retry", "Audit"],
                    "success": True, "source": "user"}
        await produce(secure_stack.bootstrap, topics.feedback,
                      [(None, orjson.dumps(feedback), [])], **admin)

        def mine(records: list) -> dict[str, GenerationResult]:  # type: ignore[type-arg]
            out = {}
            for rec in records:
                result = GenerationResult.model_validate_json(rec.value)
                if result.request_id.startswith(tag):
                    out[result.request_id] = result
            return out

        results = mine(await collect(secure_stack.bootstrap, topics.results, timeout_s=120,
                                     until=lambda rs: len(mine(rs)) >= 20, **admin))
        assert len(results) == 20
        assert all(r.status is ResultStatus.SUCCEEDED for r in results.values())
        letters = await collect(
            secure_stack.bootstrap, topics.dlq, timeout_s=60, **admin,
            until=lambda rs: sum(header(r, "correlation-id") == f"{tag}-bad".encode()
                                 for r in rs) >= 2)
        assert sorted(r.value for r in letters) == sorted(bad)
        # The user's event, consumed; and the worker's own automated ones, which it
        # published to the feedback topic (its WRITE there) and consumed back.
        events = "SELECT count(*) FROM mixin_feedback_events WHERE source = "
        assert await wait_for_count(admin_url, events + "'user'", 1, timeout_s=60) == 1
        assert await wait_for_count(admin_url, events + "'automated'", 1, timeout_s=60) >= 1

        # A burst of malformed requests breaks event_success_rate: the monitor publishes
        # the alert to the secured alerts topic (the worker's WRITE there), the alert-manager
        # agent consumes it (its READ) and delivers it to the webhook.
        burst: list[Outgoing] = [
            (None, b'{"request_id": "' + f"{tag}-burst-{i}".encode() + b'", "node_type"', [])
            for i in range(200)]
        await produce(secure_stack.bootstrap, topics.requests, burst, **admin)

        def firing() -> list[dict[str, object]]:
            return [a for body in hook.bodies("/hook") for a in body["alerts"]
                    if a["labels"]["alertname"] == "event_success_rate_critical"
                    and a["status"] == "firing"]

        await wait_until(lambda: bool(firing()), 90,
                         "event_success_rate_critical firing at the webhook")
        alerts = await collect(secure_stack.bootstrap, topics.alerts, timeout_s=30, **admin,
                               until=lambda rs: any(b"event_success_rate_critical" in r.value
                                                    for r in rs))
        assert any(b"event_success_rate_critical" in r.value for r in alerts)

        # No plaintext anywhere: every session of the worker's role is TLS ...
        conn = await asyncpg.connect(admin_url)
        try:
            rows = await conn.fetch(
                "SELECT s.ssl, s.client_dn FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
                "WHERE a.usename = 'onexgen_worker'")
        finally:
            await conn.close()
        assert rows and all(r["ssl"] for r in rows)
        # ... with the role's client certificate (pg_hba `cert`: no password) ...
        assert {r["client_dn"] for r in rows} == {"/CN=onexgen_worker"}
        # ... and the broker offers no listener but SASL_SSL (and the TLS controller).
        server = (LOCAL / "kafka" / "server.properties").read_text()
        protocol_map = next(line for line in server.splitlines()
                            if line.startswith("listener.security.protocol.map="))
        protocols = dict(pair.split(":") for pair in protocol_map.split("=", 1)[1].split(","))
        assert set(protocols.values()) == {"SASL_SSL", "SSL"}, protocols
        assert "allow.everyone.if.no.acl.found=false" in server.splitlines()
    finally:
        code = proc.stop()
        await hook.stop()
        assert code == 0, proc.stderr_path.read_text()[-3000:]


def test_cli_submit_topics_and_tail_work_on_secured_stack(
        secure_stack: SecureStack, secure_prefix: str, tmp_path: Path) -> None:
    env = {**secure_stack.kafka_env("admin"), "ONEXGEN_TOPIC_PREFIX": secure_prefix,
           "ONEXGEN_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onexgen", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)

    topics = cli("topics")
    assert topics.returncode == 0, topics.stderr
    assert f"{secure_prefix}.requests" in topics.stdout
    request = tmp_path / "req.json"
    request.write_text(orjson.dumps(make_request(3, "cli")).decode())
    submitted = cli("submit", "--no-progress", str(request))
    assert submitted.returncode == 0, submitted.stderr
    tailed = cli("tail", "requests", "--from-beginning", "--limit", "1", "--timeout", "30")
    assert tailed.returncode == 0, tailed.stderr
    assert "cli-3" in tailed.stdout
