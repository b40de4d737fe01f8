"""``ensure_topics`` returns only once the broker serves the topics it created: a consumer
group joining right after it is assigned their partitions, not nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from onexgen.settings import Settings
from onexgen.streams.topics import ensure_topics, topic_specs, unserved

pytestmark = pytest.mark.integration


async def test_ensure_topics_new_topics_served_and_assigned_at_once(kafka_bootstrap: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap,
                        topic_prefix=f"served{uuid.uuid4().hex[:8]}")
    names = [s.name for s in topic_specs(settings)]
    assert sorted(await ensure_topics(settings)) == sorted(names)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert unserved(await admin.describe_topics(names), names) == []
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(settings.topics.requests, bootstrap_servers=kafka_bootstrap,
                                group_id=f"{settings.topic_prefix}-group")
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=200)
        assert len(consumer.assignment()) == settings.topic_partitions
    finally:
        await consumer.stop()
    assert await ensure_topics(settings) == []  # a second start creates nothing, waits not
