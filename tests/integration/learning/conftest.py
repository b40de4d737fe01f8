"""Real Postgres (fresh, migrated) and real Kafka topics under a unique prefix, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from onexgen.learning.mixins.data import probe_outcomes, sample_combinations
from onexgen.learning.mixins.model import CompatibilityModel
from onexgen.settings import Settings
from onexgen.storage.migrate import migrate
from onexgen.storage.pool import Database
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import InboundMessage
from onexgen.streams.topics import ensure_topics


@pytest.fixture(scope="session")
def base_model() -> CompatibilityModel:
    return CompatibilityModel().fit(probe_outcomes(sample_combinations(400, seed=11)))


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    await migrate(fresh_database_url)
    database = await Database.open(fresh_database_url, min_size=1, max_size=4)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def settings(kafka_bootstrap: str, fresh_database_url: str,
                   unique_prefix: str) -> Settings:
    s = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix,
                 app_id=f"{unique_prefix}-app", topic_partitions=1,
                 database_url=fresh_database_url, batch_size=20, batch_within_s=0.2)
    await ensure_topics(s)
    return s


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[Publisher]:
    p = Publisher(settings)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


def as_inbound(record: Any) -> InboundMessage:
    """An aiokafka record (untyped) as the pipeline's message type."""
    headers = [(str(k), bytes(v)) for k, v in (record.headers or ())]
    return InboundMessage(topic=record.topic, partition=record.partition, offset=record.offset,
                          key=record.key, value=record.value, headers=headers,
                          timestamp_ms=record.timestamp)
