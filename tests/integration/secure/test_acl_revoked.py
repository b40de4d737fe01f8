"""An ACL revoked while the worker runs, on the real secured broker, then restored.

The worker keeps running: unready (``/ready`` 503, ``/health`` naming the ACL and topic),
one error line per attempt naming them, attempts no closer than a second apart per batch,
and nothing acknowledged past what was published. Restored, every request gets its result
and the worker is ready again: no restart, nothing lost.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import uuid
from collections.abc import Callable
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


def _refusals(worker: WorkerProcess) -> list[dict[str, Any]]:
    lines = (orjson.loads(line) for line in worker.log_file.read_bytes().splitlines()
             if b'"publish_refused"' in line)
    return [line for line in lines if line.get("event") == "publish_refused"]


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


async def test_worker_with_results_write_revoked_mid_run_waits_unready_and_loses_nothing(
        secure_stack: SecureStack, worker_database: tuple[str, str], secure_prefix: str,
        tmp_path: Path) -> None:
    worker = secure_stack.least_privilege_worker(secure_prefix, worker_database[1],
                                                 tmp_path / "worker.log")
    app_id, topics = f"{secure_prefix}-app", TopicNames(secure_prefix)
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

        secure_stack.revoke("worker", f"topic:{topics.results}:WRITE")
        revoked_at = time.monotonic()
        await send(range(10, 30))
        refused = f"user 'worker' lacks the WRITE ACL on topic {topics.results}"
        # Wait for the refusal itself to make the worker unready (/ready names it).
        await _until(lambda: "kafka_publish" in _health(worker, "/ready")[1].get("failed", []),
                     60, "/ready to fail on kafka_publish")
        status, ready = _health(worker, "/ready")
        assert status == 503 and "kafka_publish" in ready["failed"], ready
        _, health = _health(worker, "/health")
        assert health["checks"]["kafka_publish"]["refused"] == refused
        # One error line per attempt, naming the ACL and topic; the attempts back off.
        await _until(lambda: len(_refusals(worker)) >= 3, 60, "three refused attempts")
        assert all(refused in line["error"] and line["level"] == "error"
                   for line in _refusals(worker))
        assert all(line["pause_s"] >= 1.0 for line in _refusals(worker))
        # Nothing acknowledged past what was published: only the first ten are committed.
        assert await _committed(secure_stack, app_id, topics.requests) <= 10
        assert worker.proc is not None and worker.proc.poll() is None

        secure_stack.grant("worker", f"topic:{topics.results}:WRITE")
        revoked_s = time.monotonic() - revoked_at
        after = mine(await collect(secure_stack.bootstrap, topics.results, timeout_s=120,
                                   until=lambda rs: len(mine(rs)) >= 30, **admin))
        assert sorted(after) == sorted(f"{tag}-{i}" for i in range(30))
        assert all(r.status is ResultStatus.SUCCEEDED for r in after.values())
        await _until(lambda: _health(worker, "/ready")[0] == 200, 60, "/ready again")
        # At most one attempt a second for each of the batches in flight (3).
        assert len(_refusals(worker)) <= 3 * (1 + revoked_s)
    finally:
        assert worker.stop() == 0, worker.stderr_path.read_text()[-3000:]
