"""Faust's own cost: the plain pipeline with its consumer swapped for a minimal Faust agent.

The same work as ``bench.plain_pipeline`` (``bench.baseline``: the pool, the same job,
the idempotent producer, no onexgen feature), consumed the way Faust's documentation
shows: an agent on the requests topic taking batches with ``stream.noack_take(max,
within)`` and acknowledging each event once the batch's results are acknowledged by
Kafka (Faust commits the acknowledged offsets every ``broker_commit_interval``). Up to
``in_flight`` batches at once, acks in offset order. Faust's defaults otherwise (its
consumer thread, ``fetch_max_wait_ms=1500``, ``fetch_min_bytes=1``), and none of
onexgen's Faust adapters. Set against the plain pipeline, it measures what consuming
through Faust costs; set against the worker, what onexgen adds on top of Faust.

Run: ``python -m bench.faust_pipeline --bootstrap HOST:PORT --prefix P [--within S]``;
prints ``ready`` once its agent has partitions, stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import deque
from typing import Any

import faust
import uvloop

from bench.baseline import Baseline
from bench.plain_pipeline import add_baseline_args, open_baseline
from onexgen.settings import Settings
from onexgen.streams.app import broker_credentials
from onexgen.streams.records import InboundMessage


def inbound(event: Any) -> InboundMessage:
    m = event.message
    headers = m.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return InboundMessage(m.topic, m.partition, m.offset, m.key, m.value,
                          [(str(k), bytes(v or b"")) for k, v in headers],
                          int(m.timestamp * 1000) if m.timestamp else None)


def build_app(args: argparse.Namespace, baseline: asyncio.Future[Baseline]) -> faust.App:
    """The Faust app, its agent and a task that starts ``baseline`` and says ``ready``."""
    settings = Settings(kafka_bootstrap=args.bootstrap, topic_prefix=args.prefix)
    app = faust.App(f"{args.prefix}-faust",
                    broker=[f"kafka://{s.strip()}" for s in args.bootstrap.split(",")],
                    broker_credentials=broker_credentials(settings),
                    key_serializer="raw", value_serializer="raw",
                    consumer_auto_offset_reset="earliest", store="memory://",
                    datadir=tempfile.mkdtemp(prefix="onexgen-faust-bench-"),
                    web_enabled=False, autodiscover=False, producer_acks=-1,
                    broker_commit_interval=1.0)
    topic = app.topic(settings.topics.requests, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    async def codegen(stream: Any) -> None:
        work = await asyncio.shield(baseline)

        async def handle(events: list[Any], previous: asyncio.Task[None] | None) -> None:
            await work.process([inbound(e) for e in events])
            if previous is not None:
                await previous  # acks in offset order; none past a failed batch
            for event in events:
                await stream.ack(event)

        tasks: deque[asyncio.Task[None]] = deque()
        async for events in stream.noack_take(args.max_records, within=args.within):
            tasks.append(asyncio.create_task(handle(list(events),
                                                    tasks[-1] if tasks else None)))
            while len(tasks) >= args.in_flight or (tasks and tasks[0].done()):
                await tasks.popleft()

    app.agent(topic, name="bench.faust_codegen", concurrency=1)(codegen)

    async def starting() -> None:
        work = await open_baseline(args)
        await work.start()
        baseline.set_result(work)
        # Faust has no event for "this agent has partitions"; the benchmark waits for it once.
        while not app.consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        try:
            await asyncio.Event().wait()  # until the worker stops (cancelled)
        finally:
            await work.stop()

    app.task(starting)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faust_pipeline")
    add_baseline_args(parser)
    parser.add_argument("--within", type=float, default=0.01,
                        help="noack_take's window: a batch goes when full or every this many s")
    args = parser.parse_args(argv)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # the worker's default loop too
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = build_app(args, loop.create_future())
    worker = faust.Worker(app, loglevel="warning", quiet=True, override_logging=False,
                          redirect_stdouts=False, loop=loop)
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
