"""What the end-to-end benchmark's baselines must do, checked against a real broker: the
worker's job with the worker's guarantees (shared by the plaintext and secured tests)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from bench.bench_e2e import WORKER_ENGINE, request_bytes
from bench.e2e_sides import running_baseline
from onexgen.generation.engine import Engine
from onexgen.generation.job import run_job
from onexgen.observability.context import CORRELATION_ID_HEADER
from onexgen.settings import TopicNames
from tests.harness.kafka import collect, header, produce

GROUPS = {"bench.plain_pipeline": "plain", "bench.faust_pipeline": "faust"}
"""Each baseline's consumer group, after its topic prefix."""


async def committed(bootstrap: str, group: str, security: dict[str, Any]) -> int:
    """The sum of the group's committed offsets over its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(0, o.offset) for o in offsets.values())


async def check_baseline(module: str, bootstrap: str, prefix: str, security: dict[str, Any],
                         env: dict[str, str] | None = None) -> None:
    """Requests and one malformed message through ``module``: every result is the bytes
    the generation job makes of its request, the malformed one is dead-lettered, and the
    group's offsets are committed up to the end once the records are out."""
    topics = TopicNames(prefix)
    tag = uuid.uuid4().hex[:6]
    requests = [(f"{tag}-{i}".encode(), request_bytes(tag, i)) for i in range(24)]
    with running_baseline(module, bootstrap, prefix, env=env):
        await produce(bootstrap, topics.requests,
                      [(k, v, [(CORRELATION_ID_HEADER, b"cid-" + k)]) for k, v in requests]
                      + [(b"bad", b"not json", [])], **security)
        results = await collect(bootstrap, topics.results, timeout_s=180,
                                until=lambda rs: len(rs) >= len(requests), **security)
        letters = await collect(bootstrap, topics.dlq, until=lambda rs: len(rs) >= 1,
                                timeout_s=60, **security)
        group = f"{prefix}-{GROUPS[module]}"
        deadline = time.monotonic() + 60
        while True:  # the commit follows the acknowledgement: poll the broker's view
            done = await committed(bootstrap, group, security)
            if done >= len(requests) + 1 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert done == len(requests) + 1
    engine = Engine(WORKER_ENGINE)
    expected = {k: run_job(v, "cid-" + k.decode(), engine).payload for k, v in requests}
    assert {r.key: r.value for r in results} == expected
    assert all(header(r, CORRELATION_ID_HEADER) == b"cid-" + (r.key or b"") for r in results)
    assert [r.value for r in letters if r.key == b"bad"]
