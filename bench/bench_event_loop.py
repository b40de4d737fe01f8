"""The worker's event-loop work per batch, two ways side by side in one process.

Every request costs the worker's event loop about 200 µs of CPU, while the pool does
the generating; that share is what the end-to-end ratio to the CPU ceiling loses
(BENCHMARKS.md). Two pieces of it, each measured the old way and the current way in
alternating rounds, on real result payloads (the engine's output for the benchmark's
requests):

- publishing a batch of 50 results through the real broker (acks=all, idempotent):
  one ``send`` and one delivery future per record, against ``Publisher.publish``,
  which builds one record batch per partition;
- the shared output cache's memory backend: storing and looking up a batch's results
  as encoded bytes with a TTL timer each (what the memory backend did, what Redis
  still needs), against keeping the objects themselves; and the objects in aiocache's
  memory backend, against in ``shared_cache.MemoryStore`` (a dict), both at their
  bound, so that every stored result evicts one (as in a worker that has run a while);
  and storing a batch's fresh results as the pool does (``GenerationPool._share``), at
  the bound: converted to the placeholder form (``CachedResult.from_payload``) in a dict
  whose bound evicts one key an awaited call (before session 15), against kept as served
  (``CachedResult.served``) in ``MemoryStore``, which drops its oldest once a batch;
- handing each consumed message to Faust's conductor: mode's ``wait_first`` of the
  callback and the flow's suspension (Faust's drain loop), against
  ``streams.consumer.MessageHandoff``; and that, one task a message, against one task
  a fetch (``MessageHandoff.run``, what the drain loop does now);
- the hop to Faust's consumer thread that every ``getmany`` of Faust's drain loop makes
  (mode's ``QueueServiceThread.call_thread``, here with a trivial method), against
  ``asyncio.run_coroutine_threadsafe`` to the same thread's loop: a "record" here is one
  hop, i.e. one fetch (docs/upstream/faust-per-message-costs.md, item 7).

Reported: CPU (``time.process_time``) per record, medians of the rounds, and the ratio,
on the event loop the worker runs (``ONEXGEN_EVENT_LOOP``, uvloop by default).
Run: ``python -m bench event_loop`` with ``ONEXGEN_KAFKA_BOOTSTRAP`` set.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiocache import Cache
from aiocache.serializers import NullSerializer
from mode import Service
from mode.threads import QueueServiceThread

from bench.bench_e2e import WORKER_ENGINE, request_bytes
from bench.report import Report
from onexgen.generation.engine import Engine
from onexgen.generation.job import run_job
from onexgen.generation.output_cache import CachedResult
from onexgen.generation.shared_cache import SharedOutputCache
from onexgen.settings import Settings
from onexgen.streams.consumer import MessageHandoff
from onexgen.streams.faust_internals import _InLoopConsumerThread
from onexgen.streams.publisher import Publisher
from onexgen.streams.records import OutboundRecord
from onexgen.streams.topics import ensure_topics
from onexgen.worker import use_event_loop

BATCH = 50
BATCHES = 200  # per round and way
ROUNDS = 6


def _results(count: int) -> list[tuple[str, str, bytes]]:
    """(request id, correlation id, payload) of real results."""
    engine = Engine(WORKER_ENGINE)
    out = []
    for i in range(count):
        outcome = run_job(request_bytes("evl", i), f"cid-{i}", engine)
        out.append((outcome.request_id or "", f"cid-{i}", outcome.payload))
    return out


async def _cpu_per_record(step: Callable[[int], Awaitable[None]],
                          batches: int = BATCHES) -> float:
    started = time.process_time()
    for i in range(batches):
        await step(i)
    return (time.process_time() - started) / (batches * BATCH) * 1e6


async def _publishing(bootstrap: str, results: list[tuple[str, str, bytes]]
                      ) -> dict[str, list[float]]:
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"evl{uuid.uuid4().hex[:6]}")
    await ensure_topics(settings)
    publisher = Publisher(settings)
    await publisher.start()
    producer = publisher._producer  # the same producer, used the old way
    assert producer is not None
    topic = settings.topics.results

    def batch(i: int) -> list[OutboundRecord]:
        return [OutboundRecord(topic, f"{rid}-{i}".encode(), payload,
                               [("correlation-id", cid.encode())])
                for rid, cid, payload in results]

    async def per_record(i: int) -> None:
        futures = [await producer.send(r.topic, r.value, key=r.key, headers=r.headers)
                   for r in batch(i)]
        await asyncio.gather(*futures)

    async def batched(i: int) -> None:
        await publisher.publish(batch(i))

    ways: dict[str, list[float]] = {"send per record": [], "Publisher.publish": []}
    try:
        await batched(-1)  # connections and metadata
        for _ in range(ROUNDS):
            ways["send per record"].append(await _cpu_per_record(per_record))
            ways["Publisher.publish"].append(await _cpu_per_record(batched))
    finally:
        await publisher.stop()
    return ways


async def _caching(results: list[tuple[str, str, bytes]]) -> dict[str, list[float]]:
    entries = [CachedResult.from_payload("succeeded", None, None, payload, None,
                                         request_id=rid, correlation_id=cid)
               for rid, cid, payload in results]

    def encoded() -> SharedOutputCache:
        cache = Cache(Cache.MEMORY, ttl=3600, serializer=NullSerializer(), timeout=None)
        return SharedOutputCache(cache, backend="memory", ttl_s=3600, encoded=True)

    ways: dict[str, list[float]] = {"cache as bytes, TTL timers": [],
                                    "cache as objects": []}
    for _ in range(ROUNDS):
        for name, make in (("cache as bytes, TTL timers", encoded),
                           ("cache as objects", SharedOutputCache.memory)):
            shared = make()

            async def step(i: int, shared: SharedOutputCache = shared) -> None:
                keys = [f"k{i}-{j}" for j in range(BATCH)]
                await shared.get_many(keys)  # a miss each, as for new requests
                await shared.put_many(list(zip(keys, entries, strict=True)))
                await shared.get_many(keys[:5])  # and a few repeats

            ways[name].append(await _cpu_per_record(step))
            await shared.close()
    return ways


async def _storing_objects(results: list[tuple[str, str, bytes]]) -> dict[str, list[float]]:
    entries = [CachedResult.from_payload("succeeded", None, None, payload, None,
                                         request_id=rid, correlation_id=cid)
               for rid, cid, payload in results]

    def aiocache_memory() -> SharedOutputCache:  # what SharedOutputCache.memory() was
        cache = Cache(Cache.MEMORY, serializer=NullSerializer(), timeout=None)
        return SharedOutputCache(cache, backend="memory", ttl_s=None, encoded=False)

    ways: dict[str, list[float]] = {"objects in aiocache memory, at the bound": [],
                                    "objects in MemoryStore, at the bound": []}
    for _ in range(ROUNDS):
        for name, make in zip(ways, (aiocache_memory, SharedOutputCache.memory), strict=True):
            shared = make()
            assert shared.max_entries is not None
            for start in range(0, shared.max_entries, BATCH):  # fill it to its bound
                await shared.put_many([(f"fill{start + j}", entries[j]) for j in range(BATCH)])

            async def step(i: int, shared: SharedOutputCache = shared) -> None:
                keys = [f"k{i}-{j}" for j in range(BATCH)]
                await shared.get_many(keys)
                await shared.put_many(list(zip(keys, entries, strict=True)))
                await shared.get_many(keys[:5])

            ways[name].append(await _cpu_per_record(step))
            await shared.close()
    return ways


class _UnboundedStore:
    """``MemoryStore`` before session 15: no bound of its own (the cache evicted one key
    an awaited ``delete``)."""

    def __init__(self) -> None:
        self._data: dict[str, object] = {}

    async def multi_get(self, keys: list[str]) -> list[object]:
        return [self._data.get(key) for key in keys]

    async def multi_set(self, pairs: list[tuple[str, object]], ttl: int | None = None) -> bool:
        self._data.update(pairs)
        return True

    async def delete(self, key: str) -> int:
        return 0 if self._data.pop(key, None) is None else 1

    async def close(self) -> None:
        self._data.clear()


def _before_session_15() -> SharedOutputCache:
    return SharedOutputCache(_UnboundedStore(), backend="memory", ttl_s=None, encoded=False)


async def _storing_fresh(results: list[tuple[str, str, bytes]]) -> dict[str, list[float]]:
    ways: dict[str, tuple[Callable[[], SharedOutputCache], Callable[..., CachedResult]]] = {
        "fresh results converted, evicted one a call": (_before_session_15,
                                                        CachedResult.from_payload),
        "fresh results kept as served": (SharedOutputCache.memory, CachedResult.served)}
    costs: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, (make, to_entry) in ways.items():
            shared = make()

            def entries(keys: list[str], to_entry: Callable[..., CachedResult] = to_entry
                        ) -> list[tuple[str, CachedResult]]:
                return [(k, to_entry("succeeded", None, None, p, None, request_id=r,
                                     correlation_id=c))
                        for k, (r, c, p) in zip(keys, results, strict=True)]

            for start in range(0, 4096, BATCH):  # fill it to its bound
                await shared.put_many(entries([f"fill{start + j}" for j in range(BATCH)]))

            async def step(i: int, shared: SharedOutputCache = shared,
                           entries: Callable[[list[str]], list[tuple[str, CachedResult]]]
                           = entries) -> None:
                keys = [f"k{i}-{j}" for j in range(BATCH)]
                await shared.get_many(keys)  # a miss each, as for new requests
                await shared.put_many(entries(keys))
                for entry in await shared.get_many(keys[:5]):  # a few repeats, served
                    assert entry is not None
                    entry.payload_for("repeat", "repeat-cid")

            costs[name].append(await _cpu_per_record(step))
            await shared.close()
    return costs


async def _handing_over() -> dict[str, list[float]]:
    service = Service()  # Faust's consumer is a mode Service; wait_first is its method
    suspend = asyncio.Event()
    handoff = MessageHandoff(suspend, asyncio.Event(), asyncio.Event())

    async def callback(message: int) -> None:
        return None

    async def wait_first(i: int) -> None:
        for j in range(BATCH):
            await service.wait_first(callback(j), suspend.wait())

    async def handed(i: int) -> None:
        for j in range(BATCH):
            await handoff.deliver(callback, j)

    ways: dict[str, list[float]] = {"mode wait_first": [], "MessageHandoff": []}
    for _ in range(ROUNDS):
        ways["mode wait_first"].append(await _cpu_per_record(wait_first))
        ways["MessageHandoff"].append(await _cpu_per_record(handed))
    handoff.close()
    return ways


async def _handing_over_a_fetch() -> dict[str, list[float]]:
    handoff = MessageHandoff(asyncio.Event(), asyncio.Event(), asyncio.Event())

    async def callback(message: int) -> None:
        return None

    async def each(i: int) -> None:
        for j in range(BATCH):
            await handoff.deliver(callback, j)

    async def fetch() -> None:
        for j in range(BATCH):
            await callback(j)

    async def whole(i: int) -> None:
        await handoff.run(fetch())

    ways: dict[str, list[float]] = {"MessageHandoff, a task a message": [],
                                    "MessageHandoff, a task a fetch": []}
    for _ in range(ROUNDS):
        ways["MessageHandoff, a task a message"].append(await _cpu_per_record(each))
        ways["MessageHandoff, a task a fetch"].append(await _cpu_per_record(whole))
    handoff.close()
    return ways


class _Thread(QueueServiceThread):
    """A mode service thread like Faust's consumer thread, with a method that does nothing."""

    async def nothing(self) -> None:
        return None


async def _hopping_to_a_thread() -> dict[str, list[float]]:
    thread = _Thread()
    await thread.start()

    async def call_thread(i: int) -> None:
        for _ in range(BATCH):
            await thread.call_thread(thread.nothing)

    async def threadsafe(i: int) -> None:
        for _ in range(BATCH):
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(thread.nothing(), thread.thread_loop))

    ways: dict[str, list[float]] = {"hop: mode call_thread": [],
                                    "hop: run_coroutine_threadsafe": []}
    try:
        for _ in range(ROUNDS):
            ways["hop: mode call_thread"].append(await _cpu_per_record(call_thread, 20))
            ways["hop: run_coroutine_threadsafe"].append(
                await _cpu_per_record(threadsafe, 20))
    finally:
        await thread.stop()
    return ways


async def _fetching_in_loop() -> dict[str, list[float]]:
    thread = _Thread()
    await thread.start()
    in_loop = _InLoopConsumerThread.call_thread  # what the consumer does without the thread

    async def call_thread(i: int) -> None:
        for _ in range(BATCH):
            await thread.call_thread(thread.nothing)

    async def here(i: int) -> None:
        for _ in range(BATCH):
            await in_loop(thread, thread.nothing)  # type: ignore[arg-type]

    ways: dict[str, list[float]] = {"getmany hop: Faust's consumer thread": [],
                                    "getmany: consumer on the app's loop": []}
    try:
        for _ in range(ROUNDS):
            ways["getmany hop: Faust's consumer thread"].append(
                await _cpu_per_record(call_thread, 20))
            ways["getmany: consumer on the app's loop"].append(
                await _cpu_per_record(here, 20))
    finally:
        await thread.stop()
    return ways


async def run_async() -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    results = _results(BATCH)
    report = Report("Worker event-loop work per batch, old way against current",
                    params={"event_loop": Settings().event_loop, "batch": BATCH,
                            "batches_per_round": BATCHES, "rounds": ROUNDS,
                            "payload_bytes": statistics.median(len(p) for *_, p in results)})
    for ways in (await _publishing(bootstrap, results), await _caching(results),
                 await _storing_objects(results), await _storing_fresh(results),
                 await _handing_over(),
                 await _handing_over_a_fetch(), await _hopping_to_a_thread(),
                 await _fetching_in_loop()):
        add_ways(report, ways, "record", "{:.1f}")
    return report


def add_ways(report: Report, ways: dict[str, list[float]], per: str, fmt: str) -> None:
    """Rows for two ways (old first) measured in alternating rounds: each one's median
    CPU per ``per`` and the ratio, with how many rounds the new way took less."""
    (old, before), (new, after) = ways.items()
    for name, values in ways.items():
        report.add(f"{name}: CPU per {per}", statistics.median(values), "us",
                   note="rounds " + ", ".join(fmt.format(v) for v in values))
    faster = sum(1 for a, b in zip(after, before, strict=True) if a < b)
    report.add(f"{new} / {old}", statistics.median(after) / statistics.median(before),
               "ratio", note=f"less CPU in {faster} of {len(after)} rounds")


def run_on_worker_loop(main: Callable[[], Coroutine[Any, Any, Report]]) -> Report:
    """``main()`` on the event loop the worker runs (``ONEXGEN_EVENT_LOOP``)."""
    use_event_loop(Settings().event_loop)
    try:
        return asyncio.run(main())
    finally:
        asyncio.set_event_loop_policy(None)


def run() -> Report:
    return run_on_worker_loop(run_async)


if __name__ == "__main__":
    r = run()
    print(r.render())
    print(r.write_json("event_loop"))
