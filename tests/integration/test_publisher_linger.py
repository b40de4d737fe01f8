"""The results producer holds records exactly as long as ``ONEXGEN_KAFKA_LINGER_MS`` says.

Against the real broker: a batch handed to a publisher with a one-second linger is
durable no sooner than that second; with the default (no linger) it goes at once.
"""

from __future__ import annotations

import time

import pytest

from onexgen.settings import Settings
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import OutboundRecord
from onexgen.streams.topics import ensure_topics


async def _publish_seconds(settings: Settings) -> float:
    """Seconds one publish of a small batch takes (after a first one has warmed the topic)."""
    publisher = Publisher(settings)
    await publisher.start()
    try:
        records = [OutboundRecord(settings.topics.results, f"k{i}".encode(), b"{}")
                   for i in range(5)]
        await publisher.publish(records)  # metadata and connections, not measured
        started = time.perf_counter()
        await publisher.publish(records)
        return time.perf_counter() - started
    finally:
        await publisher.stop()


async def test_a_batch_waits_out_the_linger_and_by_default_none(
    kafka_bootstrap: str, unique_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONEXGEN_KAFKA_LINGER_MS", raising=False)  # the default is under test
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix)
    await ensure_topics(settings)
    assert settings.kafka_linger_ms == 0
    lingering = await _publish_seconds(settings.model_copy(update={"kafka_linger_ms": 1000}))
    prompt = await _publish_seconds(settings)
    assert lingering >= 0.9  # the producer held the batch for its linger
    assert prompt < 0.5  # no linger: sent as soon as it was handed over
