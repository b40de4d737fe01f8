"""The worker's job without its framework: the shared core of the hand-written baselines.

Everything the end-to-end benchmark's baselines do after a batch is consumed, whichever
library consumed it (``bench.plain_pipeline``: aiokafka's ``getmany``;
``bench.faust_pipeline``: a plain Faust agent), so that the two differ only in how
they consume and their difference is that library's cost:

- the same :func:`onexgen.generation.job.run_job` per request (after the worker's
  per-chunk ``prepare_chunk``) in a 2-process ``ProcessPoolExecutor`` (spawned and
  warmed like the worker's pool). A batch is cut into chunks of at most ``chunk``
  requests (and at least one per process), all submitted at once: the executor keeps
  the next chunk queued, so with two or more batches in flight its processes never
  wait for the event loop;
- the same result and dead-letter records, produced as each chunk's answers come
  back (``send`` without awaiting each, then one ``gather`` per batch) by an
  idempotent ``acks=all`` producer: ``process`` returns once every record of the
  batch is acknowledged, and only then may the caller commit (at-least-once);
- ``Features``: what onexgen has and a plain pipeline lacks, switched on the same way:
  the output cache (in memory, looked up before the pool and filled after it) and the
  metric rows to Postgres (``event_processing_metrics`` and the request log, through
  the worker's own background ``RowSink``).

No per-job timeout (``ProcessPoolExecutor`` cannot stop a running call), no metrics
endpoint, monitor, alerting or tracing.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
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
from onexgen.settings import Settings, TopicNames
from onexgen.storage.pool import Database
from onexgen.storage.repositories.models import RequestLogRepository
from onexgen.streams.dead_letter import dead_letter
from onexgen.streams.records import InboundMessage

ENGINE = EngineConfig(mixin_policy="reject", detect_patterns=True)
"""The engine a worker runs with by default."""
_WARM = b'{"request_id":"w","node_type":"compute","name":"Warm","domain":"warm"}'
_PASSTHROUGH = ("traceparent", "tracestate")
_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)
Item = tuple[bytes | None, str]


def client_kwargs(bootstrap: str) -> dict[str, Any]:
    """aiokafka's security keywords from the ``ONEXGEN_KAFKA_*`` variables (SASL_SSL and
    its CA file on the secured stack), built as the worker builds its own."""
    return Settings(kafka_bootstrap=bootstrap).kafka_client_kwargs()


def _init(config: EngineConfig) -> None:
    configure(config)
    run_job(_WARM, "warmup")


def generate(items: list[Item]) -> list[JobOutcome]:
    """One chunk in a pool process: the worker's per-chunk step, then its job per request."""
    prepare_chunk(items)
    return [run_job(raw, cid) for raw, cid in items]


def cut(todo: list[int], processes: int, chunk: int) -> list[list[int]]:
    """``todo`` in even chunks of at most ``chunk``, and at least one per process (a small
    batch is answered by all the processes at once)."""
    if not todo:
        return []
    count = min(len(todo), max(processes, math.ceil(len(todo) / chunk)))
    size = math.ceil(len(todo) / count)
    return [todo[s:s + size] for s in range(0, len(todo), size)]


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

    def keys(self, items: list[Item]) -> list[tuple[str, str] | None]:
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

    async def cached(self, items: list[Item]) -> list[JobOutcome | None]:
        """The outcome of each item the cache answers (None for the others)."""
        keys = self.keys(items)
        found = iter(await self.cache.get_many([k[0] for k in keys if k]))
        out: list[JobOutcome | None] = []
        for (_, cid), key in zip(items, keys, strict=True):
            entry = next(found) if key else None
            out.append(None if key is None or entry is None else JobOutcome(
                "result", key[1], entry.status, entry.payload_for(key[1], cid),
                entry.error_type, entry.reason, 0.0, None, True, key[0]))
        return out

    async def record(self, messages: Sequence[InboundMessage], outcomes: list[JobOutcome],
                     cids: list[str], received_ms: float) -> None:
        """Fill the cache with the fresh results; queue the batch's metric rows."""
        await self.cache.put_many([
            (o.cache_key, CachedResult.served(
                o.status, o.error_type, o.reason, o.payload, o.composition,
                request_id=o.request_id, correlation_id=cid))
            for o, cid in zip(outcomes, cids, strict=True)
            if o.cache_key and not o.cached and o.kind == "result" and o.request_id])
        rows = []
        for m, o in zip(messages, outcomes, strict=True):
            ok = o.status == "succeeded"
            stamp = m.timestamp_ms if m.timestamp_ms is not None else received_ms
            rows.append(EventMetricRow(
                event_key=m.origin, event_type="generation_request", event_source=m.topic,
                processing_duration_ms=o.duration_ms, success=ok,
                created_at=datetime.fromtimestamp(stamp / 1000, UTC),
                queue_wait_time_ms=max(0.0, received_ms - stamp),
                error_type=None if ok else (o.error_type or o.status), error_message=None,
                retry_count=0, batch_size=len(messages)))
        self.events.add(rows)
        self.requests.add((o.request_id, m.value or b"")
                          for m, o in zip(messages, outcomes, strict=True)
                          if o.kind == "result" and o.request_id)

    async def stop(self) -> None:
        await self.events.stop()
        await self.requests.stop()
        await self.database.close()


class Baseline:
    """The pool and the producer: ``await process(messages)`` returns once the results of
    ``messages`` are acknowledged by Kafka."""

    def __init__(self, bootstrap: str, topics: TopicNames, *, processes: int = 2,
                 chunk: int = 100, linger_ms: int = 0, features: Features | None = None) -> None:
        self.topics = topics
        self.processes = processes
        self.chunk = chunk
        self.features = features
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         enable_idempotence=True, linger_ms=linger_ms,
                                         max_batch_size=1 << 20, max_request_size=8 << 20,
                                         **client_kwargs(bootstrap))
        self.executor = ProcessPoolExecutor(processes,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init, initargs=(ENGINE,))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # Spawn and warm every process before the first request.
        warm: list[Item] = [(_WARM, "w")]
        await asyncio.gather(*(loop.run_in_executor(self.executor, generate, warm)
                               for _ in range(self.processes * 2)))
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()
        if self.features is not None:
            await self.features.stop()
        self.executor.shutdown()

    async def process(self, messages: Sequence[InboundMessage]) -> None:
        received_ms = datetime.now(UTC).timestamp() * 1000
        cids = [correlation_id_from_headers(m.headers) for m in messages]
        items: list[Item] = [(m.value, cid) for m, cid in zip(messages, cids, strict=True)]
        outcomes: list[JobOutcome | None] = [None] * len(items)
        sends: list[asyncio.Future[Any]] = []
        if self.features is not None:
            outcomes = await self.features.cached(items)
            for i, o in enumerate(outcomes):
                if o is not None:
                    sends += await self.send(messages[i], cids[i], o)
        parts = cut([i for i, o in enumerate(outcomes) if o is None], self.processes, self.chunk)
        chunks = [asyncio.wrap_future(self.executor.submit(
            generate, [items[i] for i in part])) for part in parts]
        for part, chunk in zip(parts, chunks, strict=True):
            for i, outcome in zip(part, await chunk, strict=True):
                outcomes[i] = outcome
                sends += await self.send(messages[i], cids[i], outcome)
        await asyncio.gather(*sends)
        if self.features is not None:
            done = [o for o in outcomes if o is not None]
            await self.features.record(messages, done, cids, received_ms)

    async def send(self, m: InboundMessage, cid: str,
                   o: JobOutcome) -> list[asyncio.Future[Any]]:
        """Hand the request's records to the producer (not awaiting their acknowledgement):
        its result and feedback event, or its dead letter; tracing off, as the worker's."""
        if o.kind == "invalid":
            letter = dead_letter(m, dlq_topic=self.topics.dlq,
                                 reason=o.reason or "invalid message",
                                 error_type=o.error_type or "invalid_message", attempts=1,
                                 correlation_id=cid)
            return [await self.producer.send(letter.topic, letter.value, key=letter.key,
                                             headers=letter.headers)]
        headers = [(CORRELATION_ID_HEADER, cid.encode())]
        headers += [(k, v) for k, v in m.headers if k in _PASSTHROUGH]
        key = (o.request_id or "").encode()
        out = [await self.producer.send(self.topics.results, o.payload, key=key,
                                        headers=headers)]
        c = o.composition
        if c is not None and not c.cached:
            event = c.feedback(o.request_id)
            if event is not None:
                out.append(await self.producer.send(
                    self.topics.feedback, event.model_dump_json().encode(), key=key,
                    headers=headers[:1]))
        return out
