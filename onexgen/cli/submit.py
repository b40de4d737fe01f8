"""``onexgen submit FILE.jsonl``: put requests on the requests topic, as a producer would.

Lines are sent as they are (the worker validates them and dead-letters bad ones);
each gets a fresh correlation id header and is keyed by its request id when the
line is JSON with one, so all messages for a request land on one partition.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from onexgen.observability.context import CORRELATION_ID_HEADER, new_correlation_id
from onexgen.settings import Settings
from onexgen.streams.security import start_client

CHUNK = 1_000


def read_lines(path: Path) -> Iterator[bytes]:
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    with stream:
        for line in stream:
            line = line.strip()
            if line:
                yield line


def key_of(line: bytes) -> bytes | None:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    rid = data.get("request_id") if isinstance(data, dict) else None
    return rid.encode() if isinstance(rid, str) else None


class Progress:
    """A one-line bar on stderr, redrawn at most every chunk."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def update(self, sent: int) -> None:
        if self.enabled:
            sys.stderr.write(f"\rsent {sent:>9,} requests")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


async def submit_file(settings: Settings, path: Path, *, progress: bool = True) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                enable_idempotence=True, linger_ms=10,
                                **settings.kafka_client_kwargs())
    await start_client(settings, producer)
    bar = Progress(progress)
    sent = 0
    try:
        pending: list[asyncio.Future[object]] = []
        for line in read_lines(path):
            headers = [(CORRELATION_ID_HEADER, new_correlation_id().encode())]
            pending.append(await producer.send(settings.topics.requests, line,
                                               key=key_of(line), headers=headers))
            if len(pending) >= CHUNK:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending.clear()
                bar.update(sent)
        await asyncio.gather(*pending)
        sent += len(pending)
        bar.update(sent)
    finally:
        bar.done()
        await producer.stop()
    print(f"sent {sent} request(s) to {settings.topics.requests}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("submit", help="send requests from a JSON-lines file to the requests topic")
    p.add_argument("file", type=Path, help="JSON lines, one request per line ('-' for stdin)")
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from onexgen.settings import load_settings

    if str(args.file) != "-" and not args.file.is_file():
        print(f"onexgen: {args.file} does not exist; give a JSON-lines file of requests",
              file=sys.stderr)
        return 2

    return asyncio.run(submit_file(load_settings(), args.file, progress=not args.no_progress))
