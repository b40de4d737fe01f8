"""Requests written as parts carry, byte for byte, what aiokafka's own ``send`` writes."""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

import pytest
from aiokafka.conn import AIOKafkaConnection
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.protocol.types import Bytes

from onexgen.streams import aiokafka_internals
from onexgen.streams.aiokafka_internals import (
    request_parts,
    use_flat_produce_requests,
    write_requests_in_parts,
)
from onexgen.streams.record_batch import BatchParts, RecordBatch


class _Writer:
    """Records what a connection writes (``write`` or ``writelines``), as one byte string."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.calls = 0
        self.way = ""

    def write(self, data: bytes) -> None:
        self.written += data
        self.calls += 1
        self.way = "write"

    def writelines(self, parts: list[bytes]) -> None:
        for part in parts:
            self.written += part
        self.calls += 1
        self.way = "writelines"


class _Connection:
    """The fields ``AIOKafkaConnection.send`` reads, on a connection that never connects."""

    _host, _port, _client_id, _request_timeout = "127.0.0.1", 9092, "onexgen-test", 30.0
    _ssl_context: object = None

    def __init__(self, versions: dict[int, tuple[int, int]], writer: _Writer | None) -> None:
        self._versions = versions
        self._writer = writer
        self._requests: list[Any] = []
        self._loop = asyncio.get_running_loop()
        self._correlation_id = 0
        self.closed: object = None

    def _next_correlation_id(self) -> int:
        self._correlation_id += 1
        return self._correlation_id

    def close(self, reason: object = None) -> None:
        self.closed = reason


BATCH = os.urandom(70_000)


def _produce() -> ProduceRequest:
    return ProduceRequest(None, -1, 30_000, [
        ("results", [(0, bytearray(BATCH)), (3, bytearray(b"x"))]), ("feedback", [(1, None)])])


REQUESTS = {
    "produce v3": (_produce, {0: (0, 3)}),
    "produce v7": (_produce, {0: (0, 7)}),
    "metadata": (lambda: MetadataRequest(["results", "feedback"]), {3: (0, 5)}),
    "fetch": (lambda: FetchRequest(100, 1, 1 << 20, 0, [("requests", [(0, 42, 1 << 20)])]),
              {1: (0, 4)}),
}


async def _written(send: Any, make: Any, versions: dict[int, tuple[int, int]],
                   tls: bool = False) -> bytes:
    writer = _Writer()
    conn = _Connection(versions, writer)
    conn._ssl_context = object() if tls else None
    future = send(conn, make(), expect_response=True)
    future.close()  # never awaited: no broker answers
    assert conn._requests and conn._requests[0][0] == 1
    assert writer.calls == 1
    return bytes(writer.written)


@pytest.mark.parametrize("tls", [False, True])
@pytest.mark.parametrize("name", REQUESTS)
async def test_send_in_parts_when_request_kinds_vary_writes_aiokafkas_bytes(
        name: str, tls: bool) -> None:
    use_flat_produce_requests()
    make, versions = REQUESTS[name]
    ours = await _written(aiokafka_internals._send_in_parts, make, versions, tls)
    theirs = await _written(aiokafka_internals._aiokafka_send, make, versions, tls)
    assert ours == theirs
    assert int.from_bytes(ours[:4], "big") == len(ours) - 4  # the size prefix


async def test_send_in_parts_without_a_writer_raises_as_aiokafka_does() -> None:
    from aiokafka.errors import KafkaConnectionError
    with pytest.raises(KafkaConnectionError, match="No connection to broker"):
        aiokafka_internals._send_in_parts(_Connection({3: (0, 5)}, None),
                                          MetadataRequest([]))


async def test_send_in_parts_when_the_socket_fails_closes_and_raises_connection_error() -> None:
    from aiokafka.errors import KafkaConnectionError

    class Broken(_Writer):
        def writelines(self, parts: list[bytes]) -> None:
            raise ConnectionResetError("reset by peer")

    conn = _Connection({3: (0, 5)}, Broken())
    with pytest.raises(KafkaConnectionError, match="broken: reset by peer"):
        aiokafka_internals._send_in_parts(conn, MetadataRequest([]))
    assert conn.closed is not None


def test_the_installed_aiokafka_send_is_the_one_copied() -> None:
    assert write_requests_in_parts(), (
        "aiokafka's AIOKafkaConnection.send changed: compare it with "
        "onexgen.streams.aiokafka_internals._send_in_parts, redo the copy and its SHA-256")
    assert AIOKafkaConnection.send is aiokafka_internals._send_in_parts
    assert write_requests_in_parts()  # a second call keeps it


def test_write_requests_in_parts_when_send_differs_keeps_aiokafkas(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def other_send(self: Any, request: Any, expect_response: bool = True) -> None:
        return None

    monkeypatch.setattr(AIOKafkaConnection, "send", other_send)
    assert not write_requests_in_parts()
    assert AIOKafkaConnection.send is other_send


def test_write_requests_in_parts_when_send_source_unreadable_keeps_aiokafkas(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An install without readable sources (e.g. bytecode only) falls back, not crashes."""
    def unreadable(self: Any, request: Any, expect_response: bool = True) -> None:
        return None

    unreadable.__code__ = unreadable.__code__.replace(co_filename="<no source file>")
    with pytest.raises(OSError):
        inspect.getsource(unreadable)
    monkeypatch.setattr(AIOKafkaConnection, "send", unreadable)
    assert not write_requests_in_parts()
    assert AIOKafkaConnection.send is unreadable


def _built_batch() -> RecordBatch:
    batch = RecordBatch(1 << 20)
    for i, value in enumerate((BATCH, b"small", None, BATCH[:600])):
        batch.append(timestamp=1_765_000_000_000, key=b"req-%d" % i, value=value,
                     headers=[("correlation-id", b"c-%d" % i)])
    batch._set_producer_state(7, 0, 0)
    return batch


@pytest.mark.parametrize("version", [3, 7])
async def test_send_in_parts_when_batches_are_parts_writes_their_joined_bytes(
        version: int) -> None:
    use_flat_produce_requests()
    parts = _built_batch()._build()
    assert isinstance(parts, BatchParts) and len(parts.parts) > 3

    def make(batch: object) -> Any:
        return lambda: ProduceRequest(None, -1, 30_000, [("results", [(0, batch)])])

    ours = await _written(aiokafka_internals._send_in_parts, make(parts), {0: (0, version)})
    theirs = await _written(aiokafka_internals._aiokafka_send, make(bytes(parts)),
                            {0: (0, version)})
    assert ours == theirs


def test_nested_schema_when_a_batch_is_parts_encodes_it_joined() -> None:
    # aiokafka's own encoding (the fallback when FlatSchema is not in use) reads the parts
    # as bytes: Bytes.encode writes ``length + batch``.
    parts = _built_batch()._build()
    assert Bytes.encode(parts) == Bytes.encode(bytes(parts))
    assert parts[:5] == bytes(parts)[:5]


def test_request_parts_of_a_produce_request_hold_its_batches_uncopied() -> None:
    use_flat_produce_requests()
    built = _built_batch()._build()
    raw = bytearray(BATCH)
    struct = ProduceRequest(None, -1, 30_000, [("results", [(0, built), (1, raw)])]).prepare(
        {0: (0, 7)})
    parts = request_parts(b"header", struct)
    assert any(p is raw for p in parts)
    assert all(any(p is q for p in parts) for q in built.parts)
    assert int.from_bytes(parts[0], "big") == sum(map(len, parts[1:]))


@pytest.mark.parametrize(("tls", "way"), [(False, "writelines"), (True, "write")])
async def test_send_in_parts_over_tls_writes_once_joined_else_as_parts(
        tls: bool, way: str) -> None:
    # TLS seals every write on its own: parts would each become records of their own.
    writer = _Writer()
    conn = _Connection({0: (0, 7)}, writer)
    conn._ssl_context = object() if tls else None
    aiokafka_internals._send_in_parts(conn, _produce(), expect_response=True).close()
    assert writer.way == way
