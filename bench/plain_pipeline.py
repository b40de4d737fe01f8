"""The strong baseline: the worker's job hand-written on aiokafka and ``ProcessPoolExecutor``.

What a capable engineer would write instead of onexgen's worker (issue 25), with the
same generation function and the same guarantees, so the end-to-end benchmark can
tell the framework's cost from the work:

- ``getmany`` batches (up to ``batch_size``), each split into one chunk per pool
  process and handed to a 2-process ``ProcessPoolExecutor`` (spawned, warmed like
  the worker's pool: the engine built, one job run); the executor keeps the next
  chunks queued, so its processes never wait for the event loop;
- the same :func:`onexgen.generation.job.run_job` per request (after the same
  per-chunk ``prepare_chunk``), the same result and dead-letter records;
- an idempotent ``acks=all`` producer; a batch's offsets are committed only after
  its records are acknowledged and its predecessor's offsets are committed
  (at-least-once, like the worker); up to ``in_flight`` batches at once;
- ``--features``: the features onexgen has that a plain pipeline lacks, switched on
  the same way: the shared output cache (in memory, looked up before the pool and
  filled after it) and the metric rows to Postgres (``event_processing_metrics``
  and the request log, through the worker's own background ``RowSink``).

It has no per-job timeout (``ProcessPoolExecutor`` cannot stop a running call),
no metrics endpoint, monitor, alerting or tracing.

Run: ``python -m bench.plain_pipeline --bootstrap HOST:PORT --prefix P [--features
--database-url URL]``; prints ``ready`` once it consumes, stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import signal
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import TypeAdapter, ValidationError

from onexgen.generation.engine import EngineConfig, configure
from onexgen.generation.job import JobOutcome, run_job
from onexgen.generation.output_cache import CachedResult, fingerprint, output_key
from onexgen.generation.persist import RowSink
from onexgen.generation.pool import prepare_chunk
from onexgen.generation.render import default_renderer
from onexgen.generation.shared_cache import SharedOutputCache
from onexgen.models.identifiers import RequestId
from onexgen.models.rows import EventMetricRow
from onexgen.observability.context import CORRELATION_ID_HEADER, correlation_id_from_headers
from onexgen.settings import TopicNames
from onexgen.storage.pool import Database
from onexgen.storage.repositories.models import RequestLogRepository
from onexgen.streams.dead_letter import dead_letter
from onexgen.streams.records import InboundMessage

ENGINE = EngineConfig(mixin_policy="reject", detect_patterns=True)
"""The engine a worker runs with by default."""
_WARM = b'{"request_id":"w","node_type":"compute","name":"Warm","domain":"warm"}'
_PASSTHROUGH = ("traceparent", "tracestate")
_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)


def _init(config: EngineConfig) -> None:
    configure(config)
    run_job(_WARM, "warmup")


def generate(items: list[tuple[bytes | None, str]]) -> list[JobOutcome]:
    """One chunk in a pool process: the worker's per-chunk step, then its job per request."""
    prepare_chunk(items)
    return [run_job(raw, cid) for raw, cid in items]


class Features:
    """The output cache and the metric rows, as the worker has them."""

    def __init__(self, database: Database) -> None:
        self.cache = SharedOutputCache.memory()
        self.version = default_renderer().version
        self.database = database
        self.events: RowSink[EventMetricRow] = RowSink("event_metrics",
                                                        database.events.write_many)
        self.requests: RowSink[tuple[str, bytes]] = RowSink(
            "request_log", self._remember, max_buffer=100_000)
        self.events.start()
        self.requests.start()

    async def _remember(self, rows: list[tuple[str, bytes]]) -> int:
        await RequestLogRepository(self.database.pool).remember_many(rows)
        return len(rows)

    def keys(self, items: list[tuple[bytes | None, str]]) -> list[tuple[str, str] | None]:
        """(output-cache key, request id) of each item that could be a hit."""
        out: list[tuple[str, str] | None] = []
        for raw, _ in items:
            try:
                data = orjson.loads(raw) if raw is not None else None
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                rid = _REQUEST_ID.validate_python(data.get("request_id"))
            except (ValueError, ValidationError):  # orjson's errors are ValueErrors
                out.append(None)
                continue
            out.append((output_key(fingerprint(data), self.version), rid))
        return out

    async def stop(self) -> None:
        await self.events.stop()
        await self.requests.stop()


class PlainPipeline:
    def __init__(self, bootstrap: str, topics: TopicNames, group: str, *, batch_size: int = 50,
                 in_flight: int = 3, processes: int = 2,
                 features: Features | None = None) -> None:
        self.topics = topics
        self.batch_size = batch_size
        self.in_flight = in_flight
        self.processes = processes
        self.features = features
        self.consumer = AIOKafkaConsumer(topics.requests, bootstrap_servers=bootstrap,
                                         group_id=group, enable_auto_commit=False,
                                         auto_offset_reset="earliest", fetch_max_wait_ms=25)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         enable_idempotence=True, linger_ms=0)
        self.executor = ProcessPoolExecutor(processes,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init, initargs=(ENGINE,))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # Spawn and warm every process before the first request.
        warm: list[tuple[bytes | None, str]] = [(_WARM, "w")]
        await asyncio.gather(*(loop.run_in_executor(self.executor, generate, warm)
                               for _ in range(self.processes * 2)))
        await self.producer.start()
        await self.consumer.start()
        deadline = time.monotonic() + 60
        while not self.consumer.assignment():  # joined the group: the benchmark may send
            if time.monotonic() > deadline:
                raise TimeoutError("the plain pipeline got no partitions within 60 s")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        if self.features is not None:
            await self.features.stop()
        self.executor.shutdown()

    async def run(self, stopping: asyncio.Event) -> None:
        tasks: deque[asyncio.Task[None]] = deque()
        while not stopping.is_set():
            got = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            records = [r for rs in got.values() for r in rs]
            if not records:
                continue
            tasks.append(asyncio.create_task(self.handle(records, tasks[-1] if tasks else None)))
            while len(tasks) >= self.in_flight or (tasks and tasks[0].done()):
                await tasks.popleft()
        for task in tasks:
            await task

    async def handle(self, records: list[ConsumerRecord[bytes, bytes]],
                     previous: asyncio.Task[None] | None) -> None:
        loop = asyncio.get_running_loop()
        received_ms = time.time() * 1000
        cids = [correlation_id_from_headers(r.headers) for r in records]
        items: list[tuple[bytes | None, str]] = [
            (r.value, cid) for r, cid in zip(records, cids, strict=True)]
        outcomes: list[JobOutcome | None] = [None] * len(items)
        if self.features is not None:
            keys = self.features.keys(items)
            found = iter(await self.features.cache.get_many([k[0] for k in keys if k]))
            for i, key in enumerate(keys):
                entry = next(found) if key else None
                if key is not None and entry is not None:
                    outcomes[i] = JobOutcome("result", key[1], entry.status,
                                             entry.payload_for(key[1], cids[i]),
                                             entry.error_type, entry.reason, 0.0, None, True,
                                             key[0])
        todo = [i for i, o in enumerate(outcomes) if o is None]
        size = math.ceil(len(todo) / self.processes) if todo else 1
        parts = [todo[s:s + size] for s in range(0, len(todo), size)]
        answers = await asyncio.gather(*(loop.run_in_executor(
            self.executor, generate, [items[i] for i in part]) for part in parts))
        for part, answer in zip(parts, answers, strict=True):
            for i, outcome in zip(part, answer, strict=True):
                outcomes[i] = outcome
        done = [o for o in outcomes if o is not None]
        futures = []
        for r, cid, o in zip(records, cids, done, strict=True):
            topic, rkey, value, headers = self.record_for(r, cid, o)
            futures.append(await self.producer.send(topic, value, key=rkey, headers=headers))
            c = o.composition
            if c is not None and not c.cached:
                event = c.feedback(o.request_id)
                if event is not None:
                    futures.append(await self.producer.send(
                        self.topics.feedback, event.model_dump_json().encode(),
                        key=(o.request_id or "").encode(), headers=headers[:1]))
        await asyncio.gather(*futures)
        if self.features is not None:
            await self.record_features(records, done, cids, received_ms)
        if previous is not None:
            await asyncio.wait([previous])
        ends: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            ends[tp] = max(ends.get(tp, 0), r.offset + 1)
        await self.consumer.commit(ends)

    def record_for(self, r: ConsumerRecord[bytes, bytes], cid: str,
                   o: JobOutcome) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
        """The worker's result (or dead letter) for one request, tracing off."""
        if o.kind == "invalid":
            message = InboundMessage(r.topic, r.partition, r.offset, r.key, r.value,
                                     list(r.headers), r.timestamp)
            letter = dead_letter(message, dlq_topic=self.topics.dlq,
                                 reason=o.reason or "invalid message",
                                 error_type=o.error_type or "invalid_message", attempts=1,
                                 correlation_id=cid)
            return letter.topic, letter.key, letter.value, letter.headers
        headers = [(CORRELATION_ID_HEADER, cid.encode())]
        headers += [(k, v) for k, v in r.headers if k in _PASSTHROUGH]
        return self.topics.results, (o.request_id or "").encode(), o.payload, headers

    async def record_features(self, records: list[ConsumerRecord[bytes, bytes]],
                              outcomes: list[JobOutcome], cids: list[str],
                              received_ms: float) -> None:
        assert self.features is not None
        fresh = [(o.cache_key, CachedResult.from_payload(
                    o.status, o.error_type, o.reason, o.payload, o.composition,
                    request_id=o.request_id, correlation_id=cid))
                 for o, cid in zip(outcomes, cids, strict=True)
                 if o.cache_key and not o.cached and o.kind == "result" and o.request_id]
        await self.features.cache.put_many(fresh)
        rows = []
        for r, o in zip(records, outcomes, strict=True):
            ok = o.status == "succeeded"
            rows.append(EventMetricRow(
                event_key=f"{r.topic}:{r.partition}:{r.offset}",
                event_type="generation_request", event_source=r.topic,
                processing_duration_ms=o.duration_ms, success=ok,
                created_at=datetime.fromtimestamp(r.timestamp / 1000, UTC),
                queue_wait_time_ms=max(0.0, received_ms - r.timestamp),
                error_type=None if ok else (o.error_type or o.status), error_message=None,
                retry_count=0, batch_size=len(records)))
        self.features.events.add(rows)
        self.features.requests.add((o.request_id, r.value or b"")
                                   for r, o in zip(records, outcomes, strict=True)
                                   if o.kind == "result" and o.request_id)


async def main_async(args: argparse.Namespace) -> None:
    features = None
    if args.features:
        features = Features(await Database.open(args.database_url, max_size=4))
    pipeline = PlainPipeline(args.bootstrap, TopicNames(args.prefix), f"{args.prefix}-plain",
                             batch_size=args.batch_size, features=features)
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
        if features is not None:
            await features.database.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_pipeline")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True, help="topic prefix (as ONEXGEN_TOPIC_PREFIX)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--features", action="store_true",
                        help="output cache and metric rows to Postgres, as the worker has them")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    if args.features and not args.database_url:
        parser.error("--features needs --database-url (the metric rows go to Postgres)")
    uvloop.install()  # the worker's default loop too
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
