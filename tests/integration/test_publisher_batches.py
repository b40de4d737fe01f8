"""The publisher's own record batches land as aiokafka's ``send`` would place them.

Against the real broker: records are grouped per topic and partition into record
batches the publisher builds itself; each must arrive once, whole (value and
headers), in the order published, on the partition the default partitioner gives its
key (any partition with a leader when it has none), also when one partition's share of
a publish is larger than one record batch.
"""

from __future__ import annotations

import os
from collections import defaultdict

from onexgen.settings import Settings
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import OutboundRecord
from onexgen.streams.topics import ensure_topics
from tests.harness.kafka import collect, produce

BIG = 200_000  # 48 of these are 9.6 MB: several record batches (1 MB each) a partition


async def test_records_land_whole_in_order_on_the_key_partition(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix)
    await ensure_topics(settings)
    topics = settings.topics
    results = [OutboundRecord(topics.results, f"req-{i}".encode(),
                              os.urandom(BIG if i % 2 else 300), [("n", str(i).encode())])
               for i in range(96)]
    feedback = [OutboundRecord(topics.feedback, f"fb-{i}".encode(), b"{}", [])
                for i in range(5)]
    keyless = [OutboundRecord(topics.dlq, None, f"letter-{i}".encode(), []) for i in range(3)]
    publisher = Publisher(settings)
    await publisher.start()
    try:
        await publisher.publish(results + feedback + keyless)
    finally:
        await publisher.stop()

    got = await collect(kafka_bootstrap, topics.results, until=lambda rs: len(rs) >= 96,
                        timeout_s=60)
    assert sorted(r.key for r in got) == sorted(r.key or b"" for r in results)  # each once
    sent = {r.key: r for r in results}
    for r in got:
        assert r.value == sent[r.key].value and list(r.headers) == sent[r.key].headers
    by_partition: dict[int, list[int]] = defaultdict(list)
    for r in sorted(got, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(int(r.key.split(b"-")[1]))
    assert all(keys == sorted(keys) for keys in by_partition.values())  # publish order
    assert len(by_partition) > 1

    # Where aiokafka's own send() puts the same keys, on a topic of as many partitions.
    await produce(kafka_bootstrap, topics.requests, [(r.key, b"x", []) for r in results])
    reference = await collect(kafka_bootstrap, topics.requests,
                              until=lambda rs: len(rs) >= 96, timeout_s=60)
    assert settings.topic_partitions > 1
    assert {r.key: r.partition for r in got} == {r.key: r.partition for r in reference}

    fed = await collect(kafka_bootstrap, topics.feedback, until=lambda rs: len(rs) >= 5,
                        timeout_s=30)
    assert sorted(r.key for r in fed) == sorted(r.key or b"" for r in feedback)
    letters = await collect(kafka_bootstrap, topics.dlq, until=lambda rs: len(rs) >= 3,
                            timeout_s=30)
    assert sorted(r.value for r in letters) == [r.value for r in keyless]  # no key: any


async def test_compressed_records_read_back_byte_identical(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    """With ``ONEXGEN_KAFKA_COMPRESSION=zstd`` the record batches travel compressed, and a
    plain consumer reads every result back as published, key, value and headers."""
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix,
                        kafka_compression="zstd")
    await ensure_topics(settings)
    results = [OutboundRecord(settings.topics.results, f"req-{i}".encode(),
                              b'{"code":"' + b"x = %d\\n" % i * 500 + b'"}',
                              [("correlation-id", f"c-{i}".encode())]) for i in range(40)]
    publisher = Publisher(settings)
    await publisher.start()
    try:
        await publisher.publish(results)
    finally:
        await publisher.stop()
    got = await collect(kafka_bootstrap, settings.topics.results,
                        until=lambda rs: len(rs) >= 40, timeout_s=60)
    sent = {r.key or b"": r for r in results}
    assert sorted(r.key for r in got) == sorted(sent)
    for r in got:
        assert r.value == sent[r.key].value and list(r.headers) == sent[r.key].headers
