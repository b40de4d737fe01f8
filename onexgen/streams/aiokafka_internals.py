"""Every use of aiokafka's internals, in one module, each with a public-API fallback.

* **Fetch limits on a consumer someone else built** (Faust's worker consumer, see
  ``streams.faust_internals``): aiokafka takes ``fetch_max_wait_ms`` and
  ``fetch_min_bytes`` only in its constructor and keeps them in private fields
  until ``start()`` builds its fetcher from them. Fallback: when those fields are
  gone, the consumer keeps what it was built with (a warning is logged).
* **Fetch min bytes and max wait of a running consumer** (``set_running_fetch_min_bytes``,
  ``set_running_fetch_max_wait_ms``): its fetcher reads ``_fetch_min_bytes`` and
  ``_fetch_max_wait_ms`` each time it builds a fetch request, so the worker asks for
  records at once while its pool is idle (latency), lets them gather while it is busy
  (fewer, fuller fetches) and waits longer while it holds a backlog
  (``streams.fetch_cadence``). Fallback: when the fetcher keeps them elsewhere, the
  values the consumer started with (a warning is logged once).
* **Which partitions have a leader** (``producer.client.cluster``), for records
  the publisher batches itself: ``send`` picks a keyless record's partition among
  those, and so do we. Fallback: every partition.
* **Produce requests encoded in one join** (``use_flat_produce_requests``, ``FlatSchema``):
  aiokafka encodes a request as nested schemas, each joining its fields' encodings, so a
  record batch was copied by ``Bytes`` (its length prefix ``+`` the batch) and again by
  each of the four enclosing joins and the request's own: for the worker's produce
  requests (60 results, about 560 KB) 5% of its sampled CPU. ``FlatSchema`` walks the
  same schema and collects every field's encoding in one list (a batch as it is), joined
  once; the publisher gives it to aiokafka's produce request structs (module state, so
  Faust's producer uses it too: the same bytes, tested for every version). A field of a
  type it does not know exactly (a compact array, tagged fields, a subclass) is encoded
  by its own ``encode``. Fallback: structs without a ``Schema`` are left as they are.
* **Requests written as their parts** (``write_requests_in_parts``): aiokafka's
  ``AIOKafkaConnection.send`` joins a request's header and body, then the size prefix and
  that, and writes the result: two more copies of every produce request (with the
  ``FlatSchema`` join, three). Our copy of ``send`` (``_send_in_parts``, the same code
  but for the write) hands the size, the header and the body's parts (a produce
  request's record batches as they are) to ``StreamWriter.writelines``: on uvloop one
  ``writev`` from the parts, no copy in Python; on asyncio's own loop one join; over TLS,
  which seals every write as records of its own, the parts joined into one write. Used
  only when the installed ``send`` is, byte for byte, the one copied (SHA-256); module
  state, so Faust's connections use it too (the same bytes on the wire, tested).
  Fallback: aiokafka's ``send`` (a warning is logged once).

The publisher's record batches (``create_batch``/``send_batch``) and the default
partitioner are aiokafka's public API and need no adapter.

``tests/unit/streams/test_aiokafka_internals.py`` and ``test_produce_encoding.py`` fail,
naming what to redo, when the installed aiokafka no longer has what this module relies on.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

import structlog
from aiokafka import errors
from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.protocol import produce
from aiokafka.protocol.struct import Struct
from aiokafka.protocol.types import Array, Bytes, Int32, Schema
from aiokafka.util import wait_for

from onexgen.streams.record_batch import BatchParts
from onexgen.support.pinned import source_is

log = structlog.get_logger("onexgen.streams.aiokafka")

_FETCH_FIELDS = ("_fetch_max_wait_ms", "_fetch_min_bytes")


def set_fetch_limits(consumer: Any, fetch_max_wait_ms: int, fetch_min_bytes: int) -> bool:
    """Make a built, not yet started ``AIOKafkaConsumer`` fetch with these limits; False
    (and a warning) when this aiokafka keeps them elsewhere."""
    if not all(hasattr(consumer, name) for name in _FETCH_FIELDS):
        log.warning("aiokafka_internals_changed", fallback="the consumer's own fetch limits",
                    fix="redo onexgen.streams.aiokafka_internals.set_fetch_limits")
        return False
    consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read by start() for its Fetcher
    consumer._fetch_min_bytes = fetch_min_bytes
    return True


_warned_running = False


def set_running_fetch_min_bytes(consumer: Any, fetch_min_bytes: int) -> bool:
    """Make a started ``AIOKafkaConsumer``'s next fetch requests ask for
    ``fetch_min_bytes``; False when it has no fetcher yet, or keeps the value elsewhere
    (then a warning, once)."""
    return _set_running(consumer, "_fetch_min_bytes", fetch_min_bytes)


def set_running_fetch_max_wait_ms(consumer: Any, fetch_max_wait_ms: int) -> bool:
    """Make a started ``AIOKafkaConsumer``'s next fetch requests wait at most
    ``fetch_max_wait_ms`` at the broker; False as ``set_running_fetch_min_bytes``."""
    return _set_running(consumer, "_fetch_max_wait_ms", fetch_max_wait_ms)


def _set_running(consumer: Any, field: str, value: int) -> bool:
    global _warned_running
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None:
        return False  # not started yet: it fetches with what it was built with
    if not hasattr(fetcher, field):
        if not _warned_running:
            _warned_running = True
            log.warning("aiokafka_internals_changed", fallback="the fetcher's own limits",
                        fix=f"redo onexgen.streams.aiokafka_internals for {field}")
        return False
    setattr(fetcher, field, value)  # read when the next fetch request is built
    return True


def partitions_with_leader(producer: Any, topic: str, every: list[int]) -> list[int]:
    """The partitions of ``topic`` that have a leader now, as ``send`` would choose among
    (``every`` when this aiokafka does not say)."""
    try:
        led = producer.client.cluster.available_partitions_for_topic(topic)
    except AttributeError:
        return every
    return sorted(led or ())

_NULL_LENGTH = Int32.encode(-1)
_SIZE = struct.Struct(">i")  # Int32's encoding, without its wrapper's checks


class FlatSchema(Schema):  # type: ignore[misc]  # aiokafka is untyped to mypy here (overrides)
    """A ``Schema`` whose ``encode`` joins once (see the module's docstring: produce
    requests)."""

    def __init__(self, schema: Schema) -> None:
        super().__init__(*zip(schema.names, schema.fields, strict=True))

    def encode(self, item: Any) -> bytes:
        if len(item) != len(self.fields):
            raise ValueError("Item field count does not match Schema")
        parts: list[Any] = []
        _flatten(self, item, parts)
        return b"".join(parts)


def _flatten(kind: Any, value: Any, parts: list[Any]) -> None:
    """Append the encoding of ``value`` as a ``kind`` to ``parts``, in aiokafka's order."""
    # Exact types: a subclass (CompactArray is an Array) encodes lengths its own way.
    if type(kind) is Schema or type(kind) is FlatSchema:
        if len(value) != len(kind.fields):
            raise ValueError("Item field count does not match Schema")
        for i, field in enumerate(kind.fields):
            _flatten(field, value[i], parts)
    elif type(kind) is Array:
        if value is None:
            parts.append(_NULL_LENGTH)
            return
        parts.append(_SIZE.pack(len(value)))
        for element in value:
            _flatten(kind.array_of, element, parts)
    elif kind is Bytes:
        if value is None:
            parts.append(_NULL_LENGTH)
        elif type(value) is BatchParts:  # our record batch: its parts, no copy
            parts.append(_SIZE.pack(value.size))
            parts += value.parts
        else:
            parts += (_SIZE.pack(len(value)), value)  # the batch itself: no copy
    else:
        parts.append(kind.encode(value))


def use_flat_produce_requests() -> int:
    """Give every aiokafka produce request struct a ``FlatSchema``; how many it changed
    (none the second time)."""
    changed = 0
    for name in dir(produce):
        struct = getattr(produce, name)
        schema = getattr(struct, "SCHEMA", None)
        if (name.startswith("ProduceRequest_v") and isinstance(schema, Schema)
                and not isinstance(schema, FlatSchema)):
            struct.SCHEMA = FlatSchema(schema)
            changed += 1
    return changed


_SEND_SHA256 = "5909ea32f4efca495f492e22f8ccfbcbfc1f4b3c96649d1e25055b8d05bd6f77"
"""``AIOKafkaConnection.send`` of aiokafka 0.14.0, which ``_send_in_parts`` copies."""
_conn_log = logging.getLogger("aiokafka.conn")  # where aiokafka's send logs its requests
_aiokafka_send = AIOKafkaConnection.send


def request_parts(header: bytes, request_struct: Any) -> list[Any]:
    """A request as written: its size, ``header``, then ``request_struct``'s encoding as parts
    (a ``FlatSchema``'s fields as they are; any other struct encoded by its own ``encode``)."""
    parts: list[Any] = [b"", header]
    schema = request_struct.SCHEMA
    if type(schema) is FlatSchema and type(request_struct).encode is Struct.encode:
        _flatten(schema, [request_struct.__dict__[name] for name in schema.names], parts)
    else:
        parts.append(request_struct.encode())
    parts[0] = _SIZE.pack(sum(map(len, parts)))
    return parts


def _send_in_parts(self: Any, request: Any, expect_response: bool = True) -> Any:
    """aiokafka's ``AIOKafkaConnection.send`` (0.14.0), the request written as its parts."""
    if self._writer is None:
        raise errors.KafkaConnectionError(
            f"No connection to broker at {self._host}:{self._port}")
    request_struct = request.prepare(self._versions)
    correlation_id = self._next_correlation_id()
    header = request_struct.build_request_header(correlation_id=correlation_id,
                                                 client_id=self._client_id)
    parts = request_parts(header.encode(), request_struct)
    try:
        if self._ssl_context is None:
            self._writer.writelines(parts)
        else:  # TLS seals each write on its own: one write (one join, not aiokafka's two)
            self._writer.write(b"".join(parts))
    except OSError as err:
        self.close(reason=CloseReason.CONNECTION_BROKEN)
        raise errors.KafkaConnectionError(
            f"Connection at {self._host}:{self._port} broken: {err}") from err
    _conn_log.debug("Request to %s:%d %d: %s", self._host, self._port, correlation_id,
                    request_struct)
    if not expect_response:
        return self._writer.drain()
    fut = self._loop.create_future()
    self._requests.append((correlation_id, request_struct, fut))
    return wait_for(fut, self._request_timeout)


_warned_send = False


def write_requests_in_parts() -> bool:
    """Make every aiokafka connection write its requests as parts (see the module's
    docstring); False (and a warning, once) when the installed ``send`` is not the one
    copied."""
    global _warned_send
    if AIOKafkaConnection.send is _send_in_parts:
        return True
    if not source_is(_SEND_SHA256, AIOKafkaConnection.send):
        if not _warned_send:
            _warned_send = True
            log.warning("aiokafka_internals_changed", fallback="aiokafka's own send",
                        fix="redo onexgen.streams.aiokafka_internals._send_in_parts")
        return False
    AIOKafkaConnection.send = _send_in_parts
    return True
