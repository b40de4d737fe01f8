"""An ACL revoked while the worker runs, on the real secured broker, then restored.

WRITE on the results topic (publishing refused) or READ on the requests topic (fetching
refused, with the consumer on the worker's loop or on Faust's thread). The worker keeps
running: unready (``/ready`` 503, ``/health`` naming the ACL and topic), one error line
per attempt naming them, attempts no closer than a second apart (per batch, for
publishing), and nothing acknowledged past what was published. Restored, every request
gets its result, what was refused is committed without waiting for more requests, and
the worker is ready again: no restart, nothing lost.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from onexgen.models.wire import GenerationResult, ResultStatus
from onexgen.settings import TopicNames
from tests.harness import WorkerProcess
from tests.harness.kafka import collect, produce
from tests.integration.secure.conftest import SecureStack
from tests.integration.test_pipeline_e2e import make_request

pytestmark = pytest.mark.integration


def _health(worker: WorkerProcess, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with worker.get(path) as resp:
            return int(resp.status), orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), orjson.loads(exc.read())


def _refusals(worker: WorkerProcess, event: str) -> list[dict[str, Any]]:
    lines = (orjson.loads(line) for line in worker.log_file.read_bytes().splitlines()
             if f'"{event}"'.encode() in line)
    return [line for line in lines if line.get("event") == event]


async def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        await asyncio.sleep(0.25)


async def _committed(stack: SecureStack, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap, **stack.client_kwargs())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def _until_committed(stack: SecureStack, group: str, topic: str, offsets: int) -> None:
    deadline = time.monotonic() + 30
    while (committed := await _committed(stack, group, topic)) < offsets:
        assert time.monotonic() < deadline, (
            f"{committed} of {offsets} offsets committed 30 s after the ACL is back")
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Revocation:
    resource: str  # a TopicNames attribute, or "group" (the worker's consumer group)
    operation: str
    check: str  # the health check that names it
    event: str  # the log line of each refused attempt
    attempts: int = 3  # refused attempts to wait for (the group's: one a commit)
    worker_env: dict[str, str] = field(default_factory=dict)

    def acl(self, prefix: str) -> tuple[str, str]:
        """The ACL spec as SecureStack takes it, and the words the worker names it with."""
        if self.resource == "group":
            return f"group:{prefix}-app:{self.operation}", f"consumer group {prefix}-app"
        topic = getattr(TopicNames(prefix), self.resource)
        return f"topic:{topic}:{self.operation}", f"topic {topic}"


REVOCATIONS = {
    "results-write": Revocation("results", "WRITE", "kafka_publish", "publish_refused"),
    "requests-read": Revocation("requests", "READ", "kafka_consume", "consume_refused"),
    "requests-read-consumer-thread": Revocation(
        "requests", "READ", "kafka_consume", "consume_refused",
        worker_env={"ONEXGEN_KAFKA_CONSUMER_THREAD": "true"}),
    "group-read": Revocation("group", "READ", "kafka_consume", "consume_refused", attempts=1),
}


@pytest.mark.parametrize("revocation", list(REVOCATIONS.values()), ids=list(REVOCATIONS))
async def test_worker_with_acl_revoked_mid_run_waits_unready_and_loses_nothing(
        secure_stack: SecureStack, worker_database: tuple[str, str], secure_prefix: str,
        tmp_path: Path, revocation: Revocation) -> None:
    worker = secure_stack.least_privilege_worker(secure_prefix, worker_database[1],
                                                 tmp_path / "worker.log", **revocation.worker_env)
    app_id, topics = f"{secure_prefix}-app", TopicNames(secure_prefix)
    acl, named = revocation.acl(secure_prefix)
    admin = secure_stack.client_kwargs("admin")
    worker.start()
    tag = uuid.uuid4().hex[:8]

    def mine(records: list[Any]) -> dict[str, GenerationResult]:
        results = (GenerationResult.model_validate_json(r.value) for r in records)
        return {r.request_id: r for r in results if r.request_id.startswith(tag)}

    async def send(numbers: range) -> None:
        requests = [make_request(i, tag) for i in numbers]
        await produce(secure_stack.bootstrap, topics.requests,
                      [(str(r["request_id"]).encode(), orjson.dumps(r), []) for r in requests],
                      **admin)

    try:
        await send(range(10))
        before = mine(await collect(secure_stack.bootstrap, topics.results, timeout_s=120,
                                    until=lambda rs: len(mine(rs)) >= 10, **admin))
        assert len(before) == 10

        secure_stack.revoke("worker", acl)
        revoked_at = time.monotonic()
        await send(range(10, 30))
        refused = f"user 'worker' lacks the {revocation.operation} ACL on {named}"
        check = revocation.check
        # Wait for the refusal itself to make the worker unready (/ready names it).
        await _until(lambda: check in _health(worker, "/ready")[1].get("failed", []),
                     60, f"/ready to fail on {check}")
        status, ready = _health(worker, "/ready")
        assert status == 503 and check in ready["failed"], ready
        _, health = _health(worker, "/health")
        assert health["checks"][check]["refused"] == refused
        # One error line per attempt, naming the ACL and topic; the attempts back off.
        await _until(lambda: len(_refusals(worker, revocation.event)) >= revocation.attempts,
                     60, f"{revocation.attempts} refused attempt(s)")
        assert all(refused in line["error"] and line["level"] == "error"
                   for line in _refusals(worker, revocation.event))
        assert all(line.get("pause_s", 1.0) >= 1.0
                   for line in _refusals(worker, revocation.event))
        # Nothing acknowledged past what was published: only the first ten are committed.
        assert await _committed(secure_stack, app_id, topics.requests) <= 10
        assert worker.proc is not None and worker.proc.poll() is None

        secure_stack.grant("worker", acl)
        revoked_s = time.monotonic() - revoked_at
        # What was refused is committed with nothing more to acknowledge.
        await _until_committed(secure_stack, app_id, topics.requests, 30)
        await send(range(30, 40))
        after = mine(await collect(secure_stack.bootstrap, topics.results, timeout_s=120,
                                   until=lambda rs: len(mine(rs)) >= 40, **admin))
        assert sorted(after) == sorted(f"{tag}-{i}" for i in range(40))
        assert all(r.status is ResultStatus.SUCCEEDED for r in after.values())
        await _until(lambda: _health(worker, "/ready")[0] == 200, 60, "/ready again")
        await _until_committed(secure_stack, app_id, topics.requests, 40)
        # At most one attempt a second (for each of the batches in flight, 3, publishing).
        assert len(_refusals(worker, revocation.event)) <= 3 * (1 + revoked_s)
    finally:
        assert worker.stop() == 0, worker.stderr_path.read_text()[-3000:]
