"""The publisher's record batches are the bytes aiokafka's builder writes, and read back."""

from __future__ import annotations

import os

import pytest
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.util import encode_varint

from onexgen.streams.record_batch import RecordBatch, varint

STAMP = 1_765_000_000_000
Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]


def _records() -> list[Record]:
    return [
        (b"req-1", b'{"ok":true}', [("correlation-id", b"c-1")]),
        (None, os.urandom(20_000), []),  # no key; a value whose length takes 3 bytes
        (b"k" * 200, None, [("a", None), ("traceparent", b"00-" + b"f" * 50)]),
        (b"", b"", [("", b"")]),
        (b"req-5", os.urandom(511), [("correlation-id", b"c-5")]),  # copied in with its fields
        (b"req-6", os.urandom(512), [("correlation-id", b"c-6")]),  # a part of its own
        (b"req-7", os.urandom(9_400), []),
    ]


def _both(records: list[Record]) -> tuple[bytes, bytes]:
    ours = RecordBatch(1 << 20)
    theirs = BatchBuilder(1 << 20, 0, is_transactional=False)
    for key, value, headers in records:
        assert ours.append(timestamp=STAMP, key=key, value=value, headers=headers) is not None
        theirs.append(timestamp=STAMP, key=key, value=value, headers=headers)
    for batch in (ours, theirs):
        batch._set_producer_state(4_000_000_001, 3, 2_147_000_000)
    return bytes(ours._build()), bytes(theirs._build())


def test_build_same_bytes_as_aiokafka_builder() -> None:
    ours, theirs = _both(_records())
    assert ours == theirs


def test_build_reads_back_with_valid_crc() -> None:
    records = _records()
    ours, _ = _both(records)
    batch = DefaultRecordBatch(ours)
    assert batch.validate_crc() and batch.producer_id == 4_000_000_001
    got = [(r.key, r.value, list(r.headers)) for r in batch]
    assert got == [(k, v, h) for k, v, h in records]
    assert [r.offset for r in DefaultRecordBatch(ours)] == list(range(len(records)))


def test_append_full_batch_closes_and_refuses() -> None:
    batch = RecordBatch(1_000)
    assert batch.append(timestamp=None, key=b"a", value=b"x" * 5_000) is not None  # first fits
    assert batch.append(timestamp=None, key=b"b", value=b"y") is None
    assert batch.closed() and batch.record_count() == 1
    assert batch.append(timestamp=None, key=b"c", value=b"z") is None


def test_build_twice_same_buffer() -> None:
    batch = RecordBatch(1 << 20)
    batch.append(timestamp=None, key=b"a", value=b"v")
    assert batch._build() is batch._build() and batch.closed()


@pytest.mark.parametrize("value", [0, 1, 63, 64, 127, 128, 300, 20_000, 2**31 - 1, 2**40,
                                   -1, -64, -65, -(2**31)])
def test_varint_same_as_aiokafka(value: int) -> None:
    expected = bytearray()
    encode_varint(value, expected.append)
    assert varint(value) == bytes(expected)


def test_build_keeps_large_values_as_parts_of_their_own() -> None:
    batch = RecordBatch(1 << 20)
    large = os.urandom(9_400)
    for value in (b"tiny", large, b"small", large):
        batch.append(timestamp=STAMP, key=b"k", value=value, headers=[])
    parts = batch._build()
    assert [p is large for p in parts.parts].count(True) == 2  # not copied
    assert len(parts) == len(bytes(parts)) == batch.size()
