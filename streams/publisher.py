"""Publishing records durably: idempotent producer, acks=all, one wait per batch.

Awaiting each send serialises on the broker round trip; we send the whole batch
and then wait for all delivery reports together. A batch is acknowledged on the
input side only after this returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from onexgen.settings import Settings
from streams.errors import PublishError
from streams.records import OutboundRecord


class Publisher:
    """Owns one idempotent aiokafka producer."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

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
        try:
            futures = [
                await self._producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                for r in records
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise PublishError(f"Kafka did not take the batch: {exc}") from exc

