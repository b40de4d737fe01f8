"""Produce requests encoded in one join read byte for byte as aiokafka's nested encoding."""

from __future__ import annotations

import os
import random

import pytest
from aiokafka.protocol import produce
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.protocol.types import (
    Array,
    Bytes,
    CompactArray,
    CompactBytes,
    CompactString,
    Int32,
    Schema,
    TaggedFields,
)

from onexgen.streams.aiokafka_internals import FlatSchema, use_flat_produce_requests

VERSIONS = sorted(int(n.rpartition("_v")[2]) for n in dir(produce)
                  if n.startswith("ProduceRequest_v"))


def _topics(seed: int) -> list[tuple[str, list[tuple[int, bytes | bytearray | None]]]]:
    rng = random.Random(seed)
    return [(f"topic-{t}", [(p, None if rng.random() < 0.1 else
                             bytearray(os.urandom(rng.choice((0, 1, 300, 70_000)))))
                            for p in range(rng.randint(0, 4))])
            for t in range(rng.randint(0, 3))]


def test_the_installed_aiokafka_produce_requests_all_take_a_flat_schema() -> None:
    use_flat_produce_requests()
    assert VERSIONS, ("aiokafka renamed its ProduceRequest_v* structs: "
                      "redo aiokafka_internals.FlatSchema")
    for v in VERSIONS:
        schema = getattr(produce, f"ProduceRequest_v{v}").SCHEMA
        assert isinstance(schema, FlatSchema), (
            f"ProduceRequest_v{v} keeps its nested schema: redo "
            "onexgen.streams.aiokafka_internals.FlatSchema for the installed aiokafka")
    assert use_flat_produce_requests() == 0  # a second call changes nothing


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("seed", range(4))
def test_flat_encode_when_topics_vary_gives_aiokafkas_bytes(version: int, seed: int) -> None:
    use_flat_produce_requests()
    struct = getattr(produce, f"ProduceRequest_v{version}")
    txn = None if version < 3 or seed % 2 else "txn-1"
    request = ProduceRequest(txn, -1, 30_000, _topics(seed)).build(struct)
    schema = struct.SCHEMA
    item = [request.__dict__[name] for name in schema.names]
    assert request.encode() == Schema.encode(schema, item)  # the nested joins, as aiokafka


def test_flat_encode_when_field_count_differs_raises_as_aiokafka_does() -> None:
    schema = FlatSchema(produce.ProduceRequest_v3.SCHEMA)
    with pytest.raises(ValueError, match="does not match Schema"):
        schema.encode(["txn", -1])


def test_flat_encode_when_fields_are_compact_or_tagged_uses_their_own_encoding() -> None:
    # Flexible request versions use these; CompactArray subclasses Array but counts
    # differently, so only exact Array/Schema/Bytes fields are flattened.
    nested = Schema(("txn", CompactString("utf-8")),
                    ("topics", CompactArray(("topic", CompactString("utf-8")),
                                            ("data", CompactBytes),
                                            ("parts", Array(("p", Int32), ("v", Bytes))))),
                    ("tags", TaggedFields))
    item = ["t", [("a", b"xyz", [(1, b"q"), (2, None)]), ("b", None, [])], {}]
    assert FlatSchema(nested).encode(item) == nested.encode(item)
