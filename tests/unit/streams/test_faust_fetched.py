"""A fetch's messages listed at once: the same messages, order and monitor marks as Faust's."""

from __future__ import annotations

from typing import Any

import faust
import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from onexgen.streams.faust_internals import use_fetch_limits
from onexgen.streams.faust_internals.fetched import (
    fetched_messages,
    getmany_is_the_copied_one,
    getmany_source_hash,
)
from onexgen.streams.lean import LeanMonitor

A0, A1, B0 = TP("a", 0), TP("a", 1), TP("b", 0)


def test_the_installed_faust_getmany_is_the_one_we_copy() -> None:
    assert getmany_is_the_copied_one(), (
        "faust's Consumer.getmany or the aiokafka driver's _to_message changed (SHA-256 "
        f"{getmany_source_hash()}): redo onexgen.streams.faust_internals.fetched."
        "fetched_messages from it, then update GETMANY_SHA256")


def _record(tp: TP, offset: int, timestamp: int | None = 1_700_000_000_123) -> Any:
    return ConsumerRecord(tp.topic, tp.partition, offset, timestamp, 0, b"k%d" % offset,
                          b"v%d" % offset, None, 2, 2, [("h", b"1")])


def _consumer(records: dict[TP, list[Any]], active: set[TP] | None,
              highwaters: dict[TP, int]) -> Any:
    app = faust.App("onexgen-test-fetched", broker="kafka://127.0.0.1:1", monitor=LeanMonitor())
    use_fetch_limits(app, 10, 1, consumer_thread=False)
    consumer: Any = app.consumer
    consumer.highwater = highwaters.__getitem__
    calls: list[float] = []

    async def wait_next_records(timeout: float) -> tuple[Any, Any]:  # noqa: ASYNC109
        calls.append(timeout)
        return records, active

    consumer._wait_next_records = wait_next_records
    app.flow_control.resume()
    return consumer


def _fields(pairs: list[tuple[TP, Any]]) -> list[tuple[Any, ...]]:
    return [(tp, m.topic, m.partition, m.offset, m.timestamp, m.timestamp_type, m.headers,
             m.key, m.value, m.checksum, m.serialized_key_size, m.serialized_value_size,
             m.tp, m.generation_id) for tp, m in pairs]


async def _faust_way(consumer: Any) -> list[tuple[TP, Any]]:
    return [pair async for pair in consumer.getmany(timeout=1.0)]


@pytest.mark.parametrize("active", [None, {A0, B0}])
async def test_fetched_messages_equal_faust_getmany_messages_order_and_highwaters(
        active: set[TP] | None) -> None:
    records = {A0: [_record(A0, 5), _record(A0, 6, None)], A1: [_record(A1, 9)],
               B0: [_record(B0, 1), _record(B0, 2)]}
    highwaters = {A0: 7, A1: 10, B0: 3}
    theirs_consumer = _consumer(records, active, highwaters)
    ours_consumer = _consumer(records, active, highwaters)
    theirs = await _faust_way(theirs_consumer)
    ours = await fetched_messages(ours_consumer, 1.0)
    assert _fields(ours) == _fields(theirs)
    assert len(ours) == (5 if active is None else 4)
    assert (dict(ours_consumer.app.monitor.tp_end_offsets)
            == dict(theirs_consumer.app.monitor.tp_end_offsets))


async def test_fetched_messages_with_the_flow_stopped_seeks_back_and_lists_nothing() -> None:
    consumer = _consumer({A0: [_record(A0, 5)]}, None, {A0: 6})
    seeks: list[bool] = []

    async def perform_seek() -> None:
        seeks.append(True)

    consumer.perform_seek = perform_seek
    consumer.flow_active = False  # stopped while the fetch was under way (a rebalance)
    assert await fetched_messages(consumer, 1.0) == []
    assert seeks == [True]


async def test_fetched_messages_when_nothing_came_lists_nothing() -> None:
    assert await fetched_messages(_consumer({}, None, {}), 1.0) == []
