"""Publishing records durably: idempotent producer, acks=all, one wait per batch.

Awaiting each send serialises on the broker round trip; we send the whole batch
and then wait for all delivery reports together. A batch is acknowledged on the
input side only after this returns.

The records are grouped by topic and partition into aiokafka record batches of our
own (``streams.record_batch``, or aiokafka's ``create_batch`` when compressed, and
``send_batch``), one delivery future each, instead of one
``send`` and one future per record: 20 against 26 µs of CPU a result on uvloop
(``python -m bench event_loop``, BENCHMARKS.md). Partitions are chosen as ``send``
chooses them (the default partitioner: murmur2 of the key, a random available
partition without one), so a request's result lands where a replay's does; the
key's murmur2 hash is computed here (``murmur2``: the same values as aiokafka's, its
words unpacked at once) and not at all for a topic with one partition. The produce
requests carrying the batches are written as their parts, the batches as they are
(``streams.aiokafka_internals.use_flat_produce_requests`` and
``write_requests_in_parts``).

A record the broker refuses for want of an ACL (an ACL revoked while the worker runs)
fails as ``PublishRefused``, naming the ACL and topic, and ``refused`` says so until a
publish succeeds again (the worker's readiness check reads it). The producer is then
replaced: an idempotent producer counts a refused batch in its sequence numbers, and
aiokafka's never recovers from the gap (every later send to that partition fails with
OutOfOrderSequenceNumber, also once the ACL is back); a new producer starts from zero.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, TopicAuthorizationFailedError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from onexgen.settings import Settings
from onexgen.streams.aiokafka_internals import (
    partitions_with_leader,
    use_flat_produce_requests,
    write_requests_in_parts,
)
from onexgen.streams.errors import PublishError, PublishRefused
from onexgen.streams.record_batch import RecordBatch
from onexgen.streams.records import OutboundRecord

BATCH_BYTES = 1 << 20
"""Largest record batch (the broker's default ``max.message.bytes`` is 1 MiB)."""

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data`` (the Java client's, as aiokafka's ``murmur2``): the
    4-byte words unpacked in one call instead of assembled byte by byte."""
    length = len(data)
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{length // 4}I", data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail, extra = length & ~3, length & 3
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h = ((h ^ data[tail]) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


class Publisher:
    """Owns one idempotent aiokafka producer (a new one after a refusal: see above)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._renewing = asyncio.Lock()
        self._partitioner = DefaultPartitioner()
        self._plain = settings.kafka_compression == "none"  # our RecordBatch; else aiokafka's
        use_flat_produce_requests()  # the same request bytes with fewer copies
        write_requests_in_parts()  # and none in Python on the way to the socket
        self.refused: str | None = None
        """Why the broker refuses our records (the missing ACL), until a publish succeeds."""

    async def start(self) -> None:
        if self._producer is not None:
            return
        self._producer = await self._new_producer()
        self._started = True

    async def _new_producer(self) -> AIOKafkaProducer:
        codec = self._settings.kafka_compression
        try:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.kafka_bootstrap,
                client_id=f"{self._settings.app_id}-publisher",
                acks="all",
                enable_idempotence=True,
                linger_ms=self._settings.kafka_linger_ms,
                max_batch_size=BATCH_BYTES,
                max_request_size=8 << 20,
                request_timeout_ms=30_000,
                compression_type=None if codec == "none" else codec,
                **self._settings.kafka_client_kwargs(),
            )
        except RuntimeError as exc:  # aiokafka: "Compression library for zstd not found"
            raise PublishError(
                f"ONEXGEN_KAFKA_COMPRESSION={codec} needs its codec library: run "
                "`pip install 'onexgen[compression]'` (cramjam), or set "
                "ONEXGEN_KAFKA_COMPRESSION=none") from exc
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise PublishError(
                f"cannot connect producer to {self._settings.kafka_bootstrap}: {exc}; "
                "check ONEXGEN_KAFKA_BOOTSTRAP and that the broker is up"
            ) from exc
        return producer

    async def stop(self) -> None:
        self._started = False
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is buffered

    async def _renew(self, failed: AIOKafkaProducer) -> None:
        """Replace ``failed`` with a new producer (once, however many batches saw it fail)."""
        async with self._renewing:
            current, self._producer = self._producer, None
            if id(current) != id(failed):  # another batch renewed it already
                self._producer = current
                return
            await failed.stop()
            if self._started:
                self._producer = await self._new_producer()

    async def _current(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._renewing:
            if self._producer is None and self._started:  # a renewal could not connect
                self._producer = await self._new_producer()
        if self._producer is None:
            raise PublishError("publisher is not started")
        return self._producer

    def _refusal(self, exc: TopicAuthorizationFailedError, operations: str) -> PublishRefused:
        topics = exc.args[0] if exc.args else "?"
        topic = ", ".join(sorted(topics)) if isinstance(topics, set | frozenset) else topics
        user = self._settings.kafka_sasl_username or "this client"
        self.refused = f"user {user!r} lacks the {operations} ACL on topic {topic}"
        return PublishRefused(f"{self.refused}: grant it (docs/operations.md lists a worker's "
                              "ACLs); the batch is not acknowledged and is tried again")

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        """Return once every record is acknowledged by all in-sync replicas."""
        producer = await self._current()
        operations = "DESCRIBE (and WRITE)"  # until the topic's metadata is known
        try:
            partitions: dict[str, tuple[list[int], list[int]]] = {}  # all, with a leader
            batches: dict[tuple[str, int], BatchBuilder | RecordBatch] = {}
            futures = []
            for r in records:
                choices = partitions.get(r.topic)
                if choices is None:
                    every = sorted(await producer.partitions_for(r.topic))
                    led = partitions_with_leader(producer, r.topic, every)
                    choices = partitions[r.topic] = (every, led)
                every = choices[0]
                if r.key is None:
                    tp = (r.topic, self._partitioner(None, *choices))
                elif len(every) == 1:
                    tp = (r.topic, every[0])
                else:  # as DefaultPartitioner does
                    tp = (r.topic, every[(murmur2(r.key) & 0x7FFFFFFF) % len(every)])
                batch = batches.get(tp)
                if batch is None or batch.append(key=r.key, value=r.value, timestamp=None,
                                                 headers=r.headers) is None:
                    if batch is not None:  # full: send it and start the next
                        futures.append(await producer.send_batch(batch, tp[0], partition=tp[1]))
                    # An empty batch takes any record (the broker judges its size).
                    batch = batches[tp] = (RecordBatch(BATCH_BYTES) if self._plain
                                           else producer.create_batch())
                    batch.append(key=r.key, value=r.value, timestamp=None, headers=r.headers)
            operations = "WRITE"
            for (topic, partition), batch in batches.items():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
        except TopicAuthorizationFailedError as exc:
            refusal = self._refusal(exc, operations)
            await _settle(futures)
            await self._renew(producer)
            raise refusal from exc
        except OutOfOrderSequenceNumber as exc:
            await _settle(futures)
            await self._renew(producer)
            raise PublishError(f"Kafka did not take the batch: {exc}; a new producer "
                               "sends it again") from exc
        except KafkaError as exc:
            raise PublishError(f"Kafka did not take the batch: {exc}") from exc
        self.refused = None


async def _settle(futures: list[asyncio.Future[object]]) -> None:
    """Wait out the batch's other sends before the producer they use is stopped."""
    await asyncio.gather(*futures, return_exceptions=True)
