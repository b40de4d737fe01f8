"""The publisher's record batch against aiokafka's builder, in the worker's process.

A batch of real-sized results (9.4 KB of JSON-like bytes, a correlation-id header,
a request-id key) appended and built as the publisher does it, by aiokafka's
``BatchBuilder`` (``producer.create_batch()``: Cython appends, its own table-driven
CRC-32C) and by ``onexgen.streams.record_batch.RecordBatch`` (the parts kept as they
are, the ``crc32c`` package's checksum over them; ``bench_produce_write`` measures the
whole way to the socket), in alternating rounds; also the checksum alone.
Both give the same bytes (``tests/unit/streams/test_record_batch.py``).

Also a produce request carrying such batches (``--records`` 60 results: ~560 KB) encoded by
aiokafka's nested schema and by ``streams.aiokafka_internals.FlatSchema`` (same bytes).

Run: ``python -m bench.bench_record_batch [--rounds 8] [--records 25]`` (no services).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.protocol.produce import ProduceRequest_v8
from aiokafka.protocol.types import Schema
from aiokafka.record.util import calc_crc32c
from crc32c import crc32c

from bench.report import Report
from onexgen.streams.aiokafka_internals import FlatSchema
from onexgen.streams.record_batch import RecordBatch

RESULT_BYTES = 9_400


def _batch_cost(make: Callable[[], Any], values: list[bytes], repeat: int) -> float:
    """CPU µs a record to append ``values`` to a new batch and build it, ``repeat`` times."""
    header = [("correlation-id", os.urandom(16).hex().encode())]
    started = time.process_time()
    for _ in range(repeat):
        batch = make()
        for i, value in enumerate(values):
            batch.append(timestamp=None, key=b"bench-%08d" % i, value=value, headers=header)
        batch._set_producer_state(1, 0, 0)
        batch._build()
    return (time.process_time() - started) / (repeat * len(values)) * 1e6


def _crc_cost(crc: Callable[[bytes], int], data: bytes, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        crc(data)
    return (time.process_time() - started) / repeat * 1e6


def _request_cost(schema: Schema, records: int, repeat: int) -> float:
    """CPU µs a result to encode a produce request of ``records`` results in one batch."""
    batch = bytearray(os.urandom(RESULT_BYTES * records))
    item = [None, -1, 30_000, [("onexgen.results", [(0, batch)])]]
    started = time.process_time()
    for _ in range(repeat):
        schema.encode(item)
    return (time.process_time() - started) / (repeat * records) * 1e6


def run(rounds: int = 8, records: int = 25, repeat: int = 200) -> Report:
    values = [os.urandom(RESULT_BYTES) for _ in range(records)]
    ways: dict[str, Callable[[], Any]] = {
        "aiokafka BatchBuilder": lambda: BatchBuilder(1 << 20, 0, is_transactional=False),
        "RecordBatch": lambda: RecordBatch(1 << 20)}
    costs: dict[str, list[float]] = {name: [] for name in ways}
    crcs: dict[str, list[float]] = {"aiokafka's CRC-32C": [], "crc32c package": []}
    for r in range(rounds):
        for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            costs[name].append(_batch_cost(ways[name], values, repeat))
        crcs["aiokafka's CRC-32C"].append(_crc_cost(calc_crc32c, values[0], repeat * 20))
        crcs["crc32c package"].append(_crc_cost(crc32c, values[0], repeat * 20))
    nested = ProduceRequest_v8.SCHEMA
    if isinstance(nested, FlatSchema):  # the publisher was imported: aiokafka's own again
        nested = Schema(*zip(nested.names, nested.fields, strict=True))
    schemas = {"aiokafka's nested encoding": nested, "FlatSchema": FlatSchema(nested)}
    requests: dict[str, list[float]] = {name: [] for name in schemas}
    for r in range(rounds):
        for name in list(schemas) if r % 2 == 0 else list(schemas)[::-1]:
            requests[name].append(_request_cost(schemas[name], 60, repeat // 4))
    report = Report("Record batch: aiokafka's builder against the publisher's")
    report.params = {"rounds": rounds, "records_per_batch": records, "value_bytes": RESULT_BYTES,
                     "load_average_at_start": os.getloadavg()[0]}
    report.add_paired("append + build", costs, "aiokafka BatchBuilder", "us",
                      note="CPU a record")
    for name, values_ in crcs.items():
        report.add(f"checksum of one {RESULT_BYTES:,}-byte value, {name}",
                   statistics.median(values_), "us", note=f"median of {rounds} rounds")
    report.add_paired("produce request of 60 results", requests,
                      "aiokafka's nested encoding", "us", note="CPU a result")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_record_batch")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--records", type=int, default=25, help="records a batch")
    args = parser.parse_args()
    report = run(args.rounds, args.records)
    print(report.render())
    print(f"wrote {report.write_json('record_batch')}")


if __name__ == "__main__":
    main()
