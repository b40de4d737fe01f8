"""The publisher's murmur2 gives aiokafka's values, so a key lands where ``send`` puts it."""

from __future__ import annotations

import random

from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from onexgen.streams.publisher import murmur2


def test_murmur2_every_length_and_byte_same_as_aiokafka() -> None:
    rng = random.Random(25)
    keys = [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 80) for _ in range(8)]
    keys += [b"\xff" * n for n in range(9)] + [b"req-%d" % i for i in range(200)]
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]
