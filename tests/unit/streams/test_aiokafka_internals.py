"""What ``streams.aiokafka_internals`` relies on in the installed aiokafka, and its fallbacks.

``test_the_installed_aiokafka_*`` fail loudly when aiokafka changes under us, naming
what to redo; the others show what happens then.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.consumer.fetcher import Fetcher

from onexgen.streams.aiokafka_internals import (
    partitions_with_leader,
    set_fetch_limits,
    set_running_fetch_max_wait_ms,
    set_running_fetch_min_bytes,
)


async def test_the_installed_aiokafka_consumer_takes_fetch_limits_after_construction() -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    await consumer.stop()  # never started: only so that it is not reported as unclosed
    assert set_fetch_limits(consumer, 25, 16384), (
        "AIOKafkaConsumer no longer keeps _fetch_max_wait_ms/_fetch_min_bytes: redo "
        "onexgen.streams.aiokafka_internals.set_fetch_limits")
    start = inspect.getsource(AIOKafkaConsumer.start)
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in start, (
        "AIOKafkaConsumer.start() no longer builds its fetcher from _fetch_max_wait_ms: redo "
        "set_fetch_limits")
    assert "fetch_min_bytes=self._fetch_min_bytes" in start
    assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (25, 16384)


async def test_the_installed_aiokafka_producer_knows_which_partitions_have_a_leader() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
    try:
        cluster = producer.client.cluster
        assert callable(getattr(cluster, "available_partitions_for_topic", None)), (
            "aiokafka's ClusterMetadata.available_partitions_for_topic is gone: redo "
            "onexgen.streams.aiokafka_internals.partitions_with_leader")
        # Unknown topic: no partition has a leader (the publisher asks after metadata).
        assert partitions_with_leader(producer, "t", [0, 1]) == []
    finally:
        await producer.stop()


def test_set_fetch_limits_on_a_consumer_without_the_fields_leaves_it_alone() -> None:
    consumer = SimpleNamespace()
    assert not set_fetch_limits(consumer, 25, 16384)
    assert not hasattr(consumer, "_fetch_max_wait_ms")


def test_partitions_with_leader_without_cluster_metadata_offers_every_partition() -> None:
    assert partitions_with_leader(SimpleNamespace(), "t", [0, 1, 2]) == [0, 1, 2]


def test_partitions_with_leader_sorts_what_the_cluster_reports() -> None:
    cluster = SimpleNamespace(available_partitions_for_topic=lambda topic: {2, 0})
    producer = SimpleNamespace(client=SimpleNamespace(cluster=cluster))
    assert partitions_with_leader(producer, "t", [0, 1, 2]) == [0, 2]


def test_the_installed_aiokafka_fetcher_reads_min_bytes_and_max_wait_for_each_request() -> None:
    source = inspect.getsource(Fetcher._get_actions_per_node)
    for field in ("_fetch_min_bytes", "_fetch_max_wait_ms"):
        assert f"self.{field}" in source, (
            f"aiokafka's Fetcher no longer reads {field} when it builds a fetch request: "
            "redo onexgen.streams.aiokafka_internals.set_running_fetch_*")


def test_set_running_fetch_min_bytes_changes_the_started_fetcher() -> None:
    fetcher = SimpleNamespace(_fetch_min_bytes=16384)
    assert set_running_fetch_min_bytes(SimpleNamespace(_fetcher=fetcher), 1)
    assert fetcher._fetch_min_bytes == 1


def test_set_running_fetch_min_bytes_before_start_changes_nothing() -> None:
    assert not set_running_fetch_min_bytes(SimpleNamespace(_fetcher=None), 1)


def test_set_running_fetch_min_bytes_on_a_fetcher_without_the_field_leaves_it_alone() -> None:
    fetcher = SimpleNamespace()
    assert not set_running_fetch_min_bytes(SimpleNamespace(_fetcher=fetcher), 1)
    assert not hasattr(fetcher, "_fetch_min_bytes")


def test_set_running_fetch_max_wait_ms_changes_the_started_fetcher_only() -> None:
    fetcher = SimpleNamespace(_fetch_max_wait_ms=10, _fetch_min_bytes=16384)
    assert set_running_fetch_max_wait_ms(SimpleNamespace(_fetcher=fetcher), 120)
    assert (fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes) == (120, 16384)
    assert not set_running_fetch_max_wait_ms(SimpleNamespace(_fetcher=None), 120)
