"""``onexgen tail results|alerts|dlq|...``: follow a topic, one JSON object per line.

Reads without a consumer group, so tailing never moves a worker's offsets.
Dead letters are shown decoded (reason, origin, original message).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from onexgen.cli.args import non_negative_float, non_negative_int
from onexgen.settings import Settings, TopicNames
from onexgen.streams.dead_letter import parse_dead_letter
from onexgen.streams.records import InboundMessage
from onexgen.streams.security import start_client


def render(what: str, message: InboundMessage) -> bytes:
    if what == "dlq":
        return parse_dead_letter(message).model_dump_json().encode()
    try:
        body = orjson.loads(message.value or b"null")
    except orjson.JSONDecodeError:
        body = (message.value or b"").decode("utf-8", "replace")
    headers = {k: v.decode("utf-8", "replace") for k, v in message.headers}
    return orjson.dumps({"partition": message.partition, "offset": message.offset,
                         "headers": headers, "value": body})


async def tail(settings: Settings, what: str, *, from_beginning: bool, limit: int,
               idle_timeout: float) -> int:
    topic = settings.topics.named(what)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, group_id=None,
        enable_auto_commit=False, auto_offset_reset="earliest" if from_beginning else "latest",
        **settings.kafka_client_kwargs(),
    )
    await start_client(settings, consumer)
    shown = 0
    out = sys.stdout.buffer
    try:
        while not limit or shown < limit:
            batch = await consumer.getmany(timeout_ms=int((idle_timeout or 1.0) * 1000))
            if not batch:
                if idle_timeout:
                    break
                continue
            for records in batch.values():
                for r in records:
                    msg = InboundMessage(r.topic, r.partition, r.offset, r.key, r.value,
                                         list(r.headers or []), r.timestamp)
                    out.write(render(what, msg) + b"\n")
                    shown += 1
                    if limit and shown >= limit:
                        break
            out.flush()
    finally:
        await consumer.stop()
    return 0




def register(sub: Any) -> None:
    p = sub.add_parser("tail", help="print messages of a topic as JSON lines")
    p.add_argument("what", choices=TopicNames.KINDS)
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest message")
    p.add_argument("--limit", type=non_negative_int, default=0, help="stop after N messages")
    p.add_argument("--timeout", type=non_negative_float, default=0.0,
                   help="stop after S seconds without a message (default: follow forever)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from onexgen.settings import load_settings

    return asyncio.run(tail(load_settings(), args.what, from_beginning=args.from_beginning,
                            limit=args.limit, idle_timeout=args.timeout))
