"""Results to the socket: batch, encode and write a produce request, joined against in parts.

The worker's produce path from its results to the kernel, on a real loopback socket
whose reader is another process (as the broker is), on uvloop (the worker's loop):
a record batch of ``--records`` results (9.4 KB each, a request-id key, a
correlation-id header) appended, built, put in a produce request and written with its
size and header, then the writer drained; the CPU this process spends (user and
system: the kernel's copy into the socket counts), per result.

* **joined** (main before this change): the batch joined into one buffer when built,
  the request encoded in one join (``FlatSchema``), then aiokafka's ``send``: header
  ``+`` body, size ``+`` message, one ``write``: four copies of every result.
* **parts**: the batch's parts kept (``record_batch.BatchParts``) and written with the
  size and header by ``aiokafka_internals._send_in_parts`` (``writelines``: one
  ``writev``): the kernel's copy only.

Both write the same bytes (``tests/unit/streams/test_request_parts.py``). Values
cycle through 64 batches' worth of distinct results, so they are not all in cache (the
worker's come fresh from the pool). Alternate rounds, the order reversed every other.

Run: ``python -m bench.bench_produce_write [--rounds 8] [--records 60]`` (no services).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import uvloop
from aiokafka.protocol.produce import ProduceRequest

from bench.report import Report
from onexgen.streams import aiokafka_internals
from onexgen.streams.aiokafka_internals import use_flat_produce_requests
from onexgen.streams.record_batch import RecordBatch

RESULT_BYTES = 9_400
_SINK = ("import socket,sys\n"
         "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(1)\n"
         "print(s.getsockname()[1], flush=True)\n"
         "c,_=s.accept()\n"
         "while c.recv_into(bytearray(1<<20)): pass\n")
"""The reader: another process, draining the socket as the broker would."""


class _Connection:
    """What ``AIOKafkaConnection.send`` reads, around a real stream writer."""

    _host, _port, _client_id, _request_timeout = "127.0.0.1", 0, "bench", 30.0

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._versions = {0: (0, 8)}
        self._requests: list[Any] = []
        self._loop = asyncio.get_running_loop()
        self._next = 0

    def _next_correlation_id(self) -> int:
        self._next += 1
        return self._next

    def close(self, reason: object = None) -> None:
        self._writer.close()


def _batch(values: list[bytes], cids: list[bytes]) -> RecordBatch:
    batch = RecordBatch(1 << 22)
    for i, value in enumerate(values):
        batch.append(timestamp=None, key=b"req-%032d" % i, value=value,
                     headers=[("correlation-id", cids[i])])
    batch._set_producer_state(1, 0, i)
    return batch


def _joined(batch: RecordBatch) -> object:
    return bytearray(bytes(batch._build()))  # main's _build: one join into a bytearray


def _parts(batch: RecordBatch) -> object:
    return batch._build()


async def _cost(conn: _Connection, send: Callable[..., Any], data: Callable[[RecordBatch],
                object], sets: list[list[bytes]], cids: list[bytes]) -> float:
    """CPU µs a result to batch, encode and write every set of values once."""
    started = time.process_time()
    for values in sets:
        request = ProduceRequest(None, -1, 30_000,
                                 [("onexgen.results", [(0, data(_batch(values, cids)))])])
        future = send(conn, request)
        future.close()  # no answer comes: the sink only reads
        conn._requests.clear()
        await conn._writer.drain()
    return (time.process_time() - started) / (len(sets) * len(sets[0])) * 1e6


async def _run(port: int, rounds: int, records: int) -> Report:
    use_flat_produce_requests()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.get_extra_info("socket").setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = _Connection(writer)
    sets = [[os.urandom(RESULT_BYTES) for _ in range(records)] for _ in range(64)]
    cids = [os.urandom(16).hex().encode() for _ in range(records)]
    ways: dict[str, tuple[Callable[..., Any], Callable[[RecordBatch], object]]] = {
        "joined (aiokafka's send)": (aiokafka_internals._aiokafka_send, _joined),
        "parts (writelines)": (aiokafka_internals._send_in_parts, _parts)}
    for send, data in ways.values():  # warm up both
        await _cost(conn, send, data, sets[:8], cids)
    costs: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(rounds):
        for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            costs[name].append(await _cost(conn, *ways[name], sets, cids))
    writer.close()
    report = Report("Produce request to the socket: joined against written in parts")
    report.params = {"rounds": rounds, "records_per_request": records,
                     "value_bytes": RESULT_BYTES, "loop": "uvloop",
                     "load_average_at_start": os.getloadavg()[0]}
    report.add_paired("batch + encode + write", costs, "joined (aiokafka's send)", "us",
                      note="process CPU a result (user + system)")
    return report


def run(rounds: int = 8, records: int = 60) -> Report:
    sink = subprocess.Popen([sys.executable, "-c", _SINK], stdout=subprocess.PIPE)
    try:
        assert sink.stdout is not None
        return uvloop.run(_run(int(sink.stdout.readline()), rounds, records))
    finally:
        sink.kill()
        sink.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_produce_write")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--records", type=int, default=60, help="results a request")
    args = parser.parse_args()
    report = run(args.rounds, args.records)
    print(report.render())
    print(f"wrote {report.write_json('produce_write')}")


if __name__ == "__main__":
    main()
