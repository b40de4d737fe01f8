"""Produce requests encoded in one join: the same bytes as aiokafka's, with 2 copies of the
record batches instead of 6.

aiokafka encodes a request as nested schemas, each joining its fields' encodings: a
record batch is copied by ``Bytes`` (its length prefix ``+`` the batch), then by each of
the four enclosing joins (partition, partitions, topic, topics) and the request's own.
For the worker's produce requests (a batch of 60 results is about 560 KB) those copies
were 5% of its sampled CPU. ``FlatSchema`` walks the same schema and collects every
field's encoding in one list (a batch as it is, no copy), joined once.

``use_flat_produce_requests()`` gives aiokafka's produce request structs (every version)
a ``FlatSchema`` of their schema: a process-wide change, as the encoding is aiokafka's
module state, so Faust's own producer uses it too (the bytes are the same; tested for
every version by ``tests/unit/streams/test_produce_encoding.py``). A field of a type it
does not know exactly (a compact array, tagged fields, a subclass) is encoded by that
type's own ``encode``, as aiokafka does.
"""

from __future__ import annotations

from typing import Any

from aiokafka.protocol import produce
from aiokafka.protocol.types import Array, Bytes, Int32, Schema

__all__ = ["FlatSchema", "use_flat_produce_requests"]

_NULL_LENGTH = Int32.encode(-1)


class FlatSchema(Schema):  # type: ignore[misc]  # aiokafka is untyped to mypy here (overrides)
    """A ``Schema`` whose ``encode`` joins once (see the module's docstring)."""

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
        parts.append(Int32.encode(len(value)))
        for element in value:
            _flatten(kind.array_of, element, parts)
    elif kind is Bytes:
        if value is None:
            parts.append(_NULL_LENGTH)
        else:
            parts += (Int32.encode(len(value)), value)  # the batch itself: no copy
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
