"""Small real-Kafka helpers for tests: produce requests, collect records until a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

Record: TypeAlias = Any  # aiokafka's ConsumerRecord; the package ships no type information


Outgoing = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


async def produce(bootstrap: str, topic: str, messages: Sequence[Outgoing],
                  **security: Any) -> None:
    """Send (key, value, headers) triples and wait until all are acknowledged.

    ``security``: ``Settings.kafka_client_kwargs()`` for a secured broker."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **security)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key, headers=headers)
                   for key, value, headers in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def collect(bootstrap: str, topic: str, *, until: Callable[[list[Record]], bool],
                  timeout_s: float, **security: Any) -> list[Record]:
    """Read ``topic`` from the beginning until ``until(records)`` holds or the time is up."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **security)
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until(records):
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


def header(record: Record, name: str) -> bytes | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value)
    return None
