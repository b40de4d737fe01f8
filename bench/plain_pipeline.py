"""The strong baseline: the worker's job hand-written on aiokafka and ``ProcessPoolExecutor``.

What a capable engineer would write instead of onexgen's worker (issue 25), with the
same generation function and the same guarantees (``bench.baseline`` does the work),
so the end-to-end benchmark can tell the framework's cost from the work:

- ``getmany`` returns what the consumer's background fetcher has buffered, up to
  ``max_records`` (a few hundred), at once: no window, a batch goes to the pool as
  soon as records arrive. The fetcher keeps fetching while batches are processed, so
  the next ``getmany`` is ready (up to ``in_flight`` batches at once: the executor
  always holds queued chunks under load). ``fetch_min_bytes=1`` lets the broker
  answer a fetch as soon as it has a record; ``fetch_max_wait_ms`` then only bounds
  how often an idle consumer polls;
- a batch's offsets are committed once its records are acknowledged and its
  predecessor's offsets are committed (at-least-once, like the worker; a failed batch
  stops the pipeline, its offsets and its successors' never committed).

Run: ``python -m bench.plain_pipeline --bootstrap HOST:PORT --prefix P [--features
--database-url URL]``; prints ``ready`` once it consumes, stops on SIGTERM. Kafka
security comes from the ``ONEXGEN_KAFKA_*`` variables, as for the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections import deque

import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.baseline import Baseline, Features, client_kwargs
from onexgen.settings import TopicNames
from onexgen.storage.pool import Database
from onexgen.streams.records import InboundMessage


class PlainPipeline:
    def __init__(self, baseline: Baseline, bootstrap: str, group: str, *,
                 max_records: int = 300, in_flight: int = 3, fetch_max_wait_ms: int = 500,
                 fetch_min_bytes: int = 1) -> None:
        self.baseline = baseline
        self.max_records = max_records
        self.in_flight = in_flight
        self.consumer = AIOKafkaConsumer(
            baseline.topics.requests, bootstrap_servers=bootstrap, group_id=group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms, fetch_min_bytes=fetch_min_bytes,
            max_partition_fetch_bytes=1 << 20, **client_kwargs(bootstrap))

    async def start(self) -> None:
        await self.baseline.start()
        await self.consumer.start()
        deadline = time.monotonic() + 60
        while not self.consumer.assignment():  # joined the group: the benchmark may send
            if time.monotonic() > deadline:
                raise TimeoutError("the plain pipeline got no partitions within 60 s")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.baseline.stop()

    async def run(self, stopping: asyncio.Event) -> None:
        tasks: deque[asyncio.Task[None]] = deque()
        while not stopping.is_set():
            got = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
            messages = [InboundMessage(r.topic, r.partition, r.offset, r.key, r.value,
                                       list(r.headers), r.timestamp)
                        for rs in got.values() for r in rs]
            if not messages:
                continue
            tasks.append(asyncio.create_task(self.handle(messages, tasks[-1] if tasks else None)))
            while len(tasks) >= self.in_flight or (tasks and tasks[0].done()):
                await tasks.popleft()
        for task in tasks:
            await task

    async def handle(self, messages: list[InboundMessage],
                     previous: asyncio.Task[None] | None) -> None:
        await self.baseline.process(messages)
        if previous is not None:
            await previous  # a failed predecessor's offsets must not be committed past
        ends: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            ends[tp] = max(ends.get(tp, 0), m.offset + 1)
        await self.consumer.commit(ends)


def add_baseline_args(parser: argparse.ArgumentParser) -> None:
    """The options both baselines take (``bench.faust_pipeline`` too)."""
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True, help="topic prefix (as ONEXGEN_TOPIC_PREFIX)")
    parser.add_argument("--max-records", type=int, default=300, help="most records a batch")
    parser.add_argument("--in-flight", type=int, default=3, help="batches processed at once")
    parser.add_argument("--chunk", type=int, default=100, help="most requests a pool call")
    parser.add_argument("--linger-ms", type=int, default=0)
    parser.add_argument("--features", action="store_true",
                        help="output cache and metric rows to Postgres, as the worker has them")
    parser.add_argument("--database-url", default="")


async def open_baseline(args: argparse.Namespace) -> Baseline:
    features = None
    if args.features:
        if not args.database_url:
            raise SystemExit("--features needs --database-url (the metric rows go to Postgres)")
        features = Features(await Database.open(args.database_url, max_size=4))
    return Baseline(args.bootstrap, TopicNames(args.prefix), chunk=args.chunk,
                    linger_ms=args.linger_ms, features=features)


async def main_async(args: argparse.Namespace) -> None:
    pipeline = PlainPipeline(await open_baseline(args), args.bootstrap, f"{args.prefix}-plain",
                             max_records=args.max_records, in_flight=args.in_flight,
                             fetch_max_wait_ms=args.fetch_max_wait_ms,
                             fetch_min_bytes=args.fetch_min_bytes)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    await pipeline.start()
    print("ready", flush=True)
    try:
        await pipeline.run(stopping)
    finally:
        await pipeline.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_pipeline")
    add_baseline_args(parser)
    parser.add_argument("--fetch-max-wait-ms", type=int, default=500)
    parser.add_argument("--fetch-min-bytes", type=int, default=1)
    args = parser.parse_args(argv)
    uvloop.install()  # the worker's default loop too
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
