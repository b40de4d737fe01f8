"""Publishing records durably: idempotent producer, acks=all, one wait per batch.

Awaiting each send serialises on the broker round trip; we send the whole batch
and then wait for all delivery reports together. A batch is acknowledged on the
input side only after this returns.

The records are grouped by topic and partition into aiokafka record batches of our
own (``create_batch``/``send_batch``), one delivery future each, instead of one
``send`` and one future per record: 20 against 26 µs of CPU a result on uvloop
(``python -m bench event_loop``, BENCHMARKS.md). Partitions are chosen as ``send``
chooses them (the default partitioner: murmur2 of the key, a random available
partition without one), so a request's result lands where a replay's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from onexgen.settings import Settings
from onexgen.streams.aiokafka_internals import partitions_with_leader
from onexgen.streams.errors import PublishError
from onexgen.streams.records import OutboundRecord


class Publisher:
    """Owns one idempotent aiokafka producer."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = DefaultPartitioner()

    async def start(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            client_id=f"{self._settings.app_id}-publisher",
            acks="all",
            enable_idempotence=True,
            linger_ms=self._settings.kafka_linger_ms,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
            request_timeout_ms=30_000,
            **self._settings.kafka_client_kwargs(),
        )
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise PublishError(
                f"cannot connect producer to {self._settings.kafka_bootstrap}: {exc}; "
                "check ONEXGEN_KAFKA_BOOTSTRAP and that the broker is up"
            ) from exc
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is buffered

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        """Return once every record is acknowledged by all in-sync replicas."""
        if self._producer is None:
            raise PublishError("publisher is not started")
        producer = self._producer
        try:
            partitions: dict[str, tuple[list[int], list[int]]] = {}  # all, with a leader
            batches: dict[tuple[str, int], BatchBuilder] = {}
            futures = []
            for r in records:
                choices = partitions.get(r.topic)
                if choices is None:
                    every = sorted(await producer.partitions_for(r.topic))
                    led = partitions_with_leader(producer, r.topic, every)
                    choices = partitions[r.topic] = (every, led)
                tp = (r.topic, self._partitioner(r.key, *choices))
                batch = batches.get(tp)
                if batch is None or batch.append(key=r.key, value=r.value, timestamp=None,
                                                 headers=r.headers) is None:
                    if batch is not None:  # full: send it and start the next
                        futures.append(await producer.send_batch(batch, tp[0], partition=tp[1]))
                    # An empty batch takes any record (the broker judges its size).
                    batch = batches[tp] = producer.create_batch()
                    batch.append(key=r.key, value=r.value, timestamp=None, headers=r.headers)
            for (topic, partition), batch in batches.items():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise PublishError(f"Kafka did not take the batch: {exc}") from exc

