"""The Faust feedback agent, in process, on a real broker: consume, write, ack, commit.

The agent runs inside a real Faust app (its own app id and topic prefix); the
worker-level services it uses (database, publisher, metrics, readiness) are
the real ones, gathered in a small stand-in for ``WorkerRuntime`` so the test
does not start a generation pool it does not need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
import pytest
from prometheus_client import CollectorRegistry

from onexgen.agents.feedback import register_feedback_agent
from onexgen.agents.runtime import WorkerRuntime
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor
from onexgen.settings import Settings
from onexgen.storage.pool import Database
from onexgen.streams.app import create_app
from onexgen.streams.publisher import Publisher
from tests.harness.kafka import collect, produce

pytestmark = pytest.mark.integration


class _Runtime:
    """What the agent reads from ``WorkerRuntime``, with the real services behind it."""

    def __init__(self, settings: Settings, database: Database, publisher: Publisher) -> None:
        self.settings, self.database, self.publisher = settings, database, publisher
        self.app: Any = None
        registry = CollectorRegistry()
        self.metrics = PipelineMetrics(registry)
        self.monitor = Monitor(registry)

    async def wait_ready(self) -> None:
        return None


@pytest.fixture
async def running_app(settings: Settings, db: Database, publisher: Publisher,
                      tmp_path: Any) -> AsyncIterator[_Runtime]:
    runtime = _Runtime(settings, db, publisher)
    app = runtime.app = create_app(settings, datadir=tmp_path)
    register_feedback_agent(app, cast(WorkerRuntime, runtime), retrain_after=10_000)
    await app.start()
    try:
        yield runtime
    finally:
        await app.stop()


async def _eventually(check: Any, timeout_s: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.3)


async def test_worker_consumer_fetches_with_the_configured_wait_and_size(
        running_app: _Runtime, settings: Settings) -> None:
    """Faust hard-codes a 1,500 ms fetch wait and leaves the minimum fetch at 1 byte; the
    running consumer must use ours instead."""
    fetcher = running_app.app.consumer._thread._ensure_consumer()._fetcher
    assert settings.kafka_fetch_max_wait_ms != 1500 and settings.kafka_fetch_min_bytes != 1
    assert fetcher._fetch_max_wait_ms == settings.kafka_fetch_max_wait_ms
    assert fetcher._fetch_min_bytes == settings.kafka_fetch_min_bytes


async def test_agent_consumes_feedback_topic_and_records_both_kinds(
        running_app: _Runtime, settings: Settings, db: Database) -> None:
    events = [
        {"kind": "mixin", "node_type": "orchestrator", "mixins": ["Retry", "Audit"],
         "success": True, "source": "user"},
        {"kind": "pattern", "request_id": "r-1", "pattern_name": "crud",
         "detected_confidence": 0.9, "feedback_type": "correct", "source": "automated"},
        {"kind": "nonsense"},
    ]
    await produce(settings.kafka_bootstrap, settings.topics.feedback,
                  [(None, orjson.dumps(e), []) for e in events])

    async def stored() -> bool:
        mixin = await db.pool.fetchval("SELECT count(*) FROM mixin_feedback_events")
        pattern = await db.pool.fetchval("SELECT count(*) FROM pattern_feedback_log")
        pairs = await db.pool.fetchval("SELECT count(*) FROM mixin_compatibility_matrix")
        return bool(mixin == 1 and pattern == 1 and pairs == 1)

    assert await _eventually(stored)
    weight = await db.pool.fetchval("SELECT learning_weight FROM pattern_feedback_log")
    assert weight == 0.5
    pair = await db.pool.fetchrow("SELECT mixin_a, mixin_b, success_count "
                                  "FROM mixin_compatibility_matrix")
    assert pair is not None and tuple(pair) == ("Audit", "Retry", 1)
    dlq = await collect(settings.kafka_bootstrap, settings.topics.dlq,
                        until=lambda rs: len(rs) >= 1, timeout_s=30)
    assert dlq[0].value == orjson.dumps(events[2])
    versions = await db.pool.fetchval("SELECT count(*) FROM model_versions WHERE kind='mixins'")
    assert versions == 1  # first start trained and stored the mixin model
    # The real outcome was judged against the model's verdict before it learned from it.
    assert await _eventually(
        lambda: asyncio.sleep(0, result=running_app.monitor.value("mixin_accuracy") is not None))
    assert running_app.monitor.value("mixin_accuracy") == 1.0  # Retry + Audit does work
