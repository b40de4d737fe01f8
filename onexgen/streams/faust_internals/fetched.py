"""A fetch's records as Faust's messages, listed at once instead of yielded one by one.

Faust's ``Consumer.getmany`` is an async generator: for every record it checks that the
flow is active and the generation unchanged, reads the partition's high-water mark
(through the consumer thread and aiokafka's subscription state), hands it to the
monitor, builds the message (reading ``app.consumer_generation_id`` again) and yields.
Its loop has no ``await``: once the records are in, the whole fetch is turned into
messages without the event loop running anything else, so the flow, the generation and
the high-water marks cannot change between two records of one fetch (the drain loop
collects the generator into a list before it delivers anything). ``fetched_messages``
does the same work once a fetch and once a partition where Faust does it once a record,
and returns the list: the same messages, in the same order (Faust's scheduler), with
the same high-water marks handed to the monitor.

Used only when Faust's ``Consumer.getmany`` and the aiokafka driver's ``_to_message``
are, byte for byte, the ones copied (SHA-256, checked once); otherwise the drain loop
collects Faust's generator, and a test fails until the copy is redone.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ConsumerMessage

from onexgen.support.pinned import source_hash

GETMANY_SHA256 = "224d246ae0422d11d7b0888182a807cc5d9d431c222f2012a657c68c512a034b"
"""Of faust-streaming 0.15.3's ``Consumer.getmany`` and aiokafka ``Consumer._to_message``."""


def getmany_source_hash() -> str | None:
    """SHA-256 of the installed Faust's getmany and message builder (None if unreadable)."""
    return source_hash(getattr(FaustConsumer, "getmany", None),
                       getattr(faust_aiokafka.Consumer, "_to_message", None))


@cache
def getmany_is_the_copied_one() -> bool:
    """Whether the installed Faust's getmany is the one ``fetched_messages`` copies."""
    return getmany_source_hash() == GETMANY_SHA256


async def fetched_messages(consumer: Any, timeout: float) -> list[tuple[Any, Any]]:  # noqa: ASYNC109 -- Faust's getmany's
    """Faust's ``consumer.getmany(timeout)`` collected into a list (module docstring)."""
    records, active_partitions = await consumer._wait_next_records(timeout)
    app = consumer.app
    generation_id = app.consumer_generation_id
    if records is None or consumer.should_stop:
        return []
    if not consumer.flow_active:
        consumer.log.dev("getmany called while flow not active. Seek back to committed offsets.")
        try:
            await consumer.perform_seek()
        except Exception as ex:  # as Faust's: logged, the drain loop goes on
            consumer.log.warning(f"exception performing seek when flow not active {ex}")
        return []
    # Faust checks these for each record; nothing between two records can change them.
    buffered = consumer._buffered_partitions
    highwater = consumer.highwater
    track_end_offset = app.monitor.track_tp_end_offset
    tracked: set[Any] = set()
    messages: list[tuple[Any, Any]] = []
    append = messages.append
    for tp, record in consumer.scheduler.iterate(records):
        if active_partitions is None or tp in active_partitions or tp in buffered:
            if tp not in tracked:
                tracked.add(tp)
                track_end_offset(tp, highwater(tp))
            timestamp = record.timestamp
            append((tp, ConsumerMessage(
                record.topic, record.partition, record.offset,
                cast(float, None) if timestamp is None else timestamp / 1000.0,  # as Faust
                record.timestamp_type,
                record.headers, record.key, record.value, record.checksum,
                record.serialized_key_size, record.serialized_value_size, tp,
                generation_id=generation_id)))
    return messages
