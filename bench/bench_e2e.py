"""End to end through the real broker: a real worker against its baselines, in one run.

Measured, each on its own fresh topics, after 30,000 requests relayed through the
broker with no work (its JIT compiler's warm-up, see ``warm_broker``):
- the pipeline: a real ``onexgen worker`` process, warmed up with 1,000 requests;
  N requests produced as fast as possible in three rounds (throughput: the median
  round), then M requests offered at half that rate (latency from produce to the
  result reaching a consumer: p50/p95/p99); then, because the machine's speed
  drifts, a burst of N/6 and M requests at half the rate that burst reached;
- the naive baseline: one message at a time, generation on the event loop,
  each result awaited before the next message (what the original did);
- the Kafka ceiling: consume and produce the same volume with no work at all;
- the CPU ceiling: the same generation through a process pool of the worker's
  size, no Kafka, measured right before each pipeline round; the ratio to the
  lower ceiling is taken per round (neighbouring measurements: this machine's
  speed drifts by tens of percent within minutes) and its median reported.
Peak RSS of the worker and of each of its pool processes is read from /proc, and
the CPU each process group used during the throughput phase (``bench.cpu_budget``):
with two cores, that per-request budget is what bounds the throughput.

Run: ``python -m bench.bench_e2e`` with ``ONEXGEN_KAFKA_BOOTSTRAP`` and
``ONEXGEN_DATABASE_URL`` set (``make bench`` sets them).
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.cpu_budget import CpuBudget, children_of, descendants, local_service_pids
from bench.report import Report
from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.job import run_job
from onexgen.generation.pool import GenerationPool
from onexgen.settings import Settings, TopicNames
from onexgen.streams.topics import ensure_topics
from tests.harness import ResultWatcher, running_worker, scratch_database

MIXIN_SETS = {
    "effect": [["HealthCheck", "Metrics"], ["Retry", "Timeout", "LogData"], ["Repository"]],
    "compute": [["HealthCheck"], ["Validation", "Metrics"], []],
    "reducer": [["Metrics"], ["Caching", "HealthCheck"], ["Audit"]],
    "orchestrator": [["EventBus", "Retry"], ["Timeout", "CircuitBreaker"], []],
}


def request_bytes(tag: str, i: int) -> bytes:
    """A unique, valid request (a different name each time: no output-cache shortcuts)."""
    node_type = list(MIXIN_SETS)[i % 4]
    return orjson.dumps({
        "request_id": f"{tag}-{i}", "node_type": node_type, "name": f"Bench{i}",
        "domain": "bench", "description": f"Benchmark request {i} that reads and updates records.",
        "operations": [{"name": "process_item", "description": "handle one item"},
                       {"name": f"step_{i % 7}", "description": ""}],
        "mixins": MIXIN_SETS[node_type][i % 3],
    })


def env_security() -> dict[str, Any]:
    """The ``ONEXGEN_KAFKA_*`` security settings of this process, for raw aiokafka clients
    (clients built from ``Settings`` read them themselves)."""
    return Settings().kafka_client_kwargs()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def offer(bootstrap: str, topic: str, tag: str, start: int, n: int,
                rate: float | None, security: dict[str, Any] | None = None
                ) -> dict[bytes, float]:
    """Produce ``n`` requests (paced at ``rate``/s when given); returns key -> send time.

    ``security``: ``Settings.kafka_client_kwargs()`` for a secured broker."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all",
                                **(env_security() if security is None else security))
    await producer.start()
    sent: dict[bytes, float] = {}
    t0 = time.perf_counter()
    try:
        futures = []
        for i in range(start, start + n):
            if rate:
                due = t0 + (i - start) / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            key = f"{tag}-{i}".encode()
            sent[key] = time.perf_counter()
            futures.append(await producer.send(topic, request_bytes(tag, i), key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


async def pipeline_phase(bootstrap: str, topics: TopicNames, tag: str, start: int, n: int,
                         rate: float | None, security: dict[str, Any] | None = None
                         ) -> tuple[float, list[float]]:
    """Throughput (requests/s) and per-request latencies (ms) through the worker."""
    watcher = ResultWatcher(bootstrap, topics.results,
                            security=env_security() if security is None else security)
    await watcher.start()
    try:
        sent = await offer(bootstrap, topics.requests, tag, start, n, rate, security)
        await watcher.expect(n, timeout_s=max(120.0, n / 50))
    finally:
        await watcher.stop()
    first, last = min(sent.values()), max(watcher.seen.values())
    latencies = [(watcher.seen[k] - t) * 1000 for k, t in sent.items() if k in watcher.seen]
    return n / (last - first), latencies


async def relay(bootstrap: str, source: str, sink: str, n: int,
                work: Callable[[bytes], bytes] | None, one_at_a_time: bool) -> float:
    """Consume ``n`` messages from ``source`` and produce to ``sink``; messages per second.

    ``work=None, one_at_a_time=False`` is the Kafka ceiling; ``work=render on the
    loop, one_at_a_time=True`` is the naive agent.
    """
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap,
                                group_id=f"relay-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **env_security())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0 if one_at_a_time else 5,
                                acks="all", **env_security())
    await consumer.start()
    await producer.start()
    done = 0
    started: float | None = None
    deadline = time.monotonic() + 600
    try:
        while done < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"relay {source} -> {sink}: {done}/{n} in 600 s")
            batch = await consumer.getmany(timeout_ms=500, max_records=1 if one_at_a_time else 500)
            futures = []
            for records in batch.values():
                for r in records:
                    started = started or time.perf_counter()
                    value = work(r.value) if work else r.value
                    if one_at_a_time:
                        await producer.send_and_wait(sink, value, key=r.key)
                        await consumer.commit()
                    else:
                        futures.append(await producer.send(sink, value, key=r.key))
                    done += 1
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return n / (time.perf_counter() - (started or time.perf_counter()))


async def fill(bootstrap: str, topic: str, tag: str, n: int) -> None:
    await offer(bootstrap, topic, tag, 0, n, None)


async def warm_broker(bootstrap: str, prefix: str, tag: str, n: int) -> None:
    """Relay ``n`` requests through topics of their own first: a freshly started broker
    spends its first minute of load compiling its hot code (its JIT), which a running
    broker is long past; measured, its CPU per request fell from ~1,000 to ~200 µs over
    the first ~15,000 requests (C2 compiler; infra/kafka.sh now runs C1 alone)."""
    s = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}w")
    await ensure_topics(s)
    await fill(bootstrap, s.topics.requests, tag, n)
    await relay(bootstrap, s.topics.requests, s.topics.results, n, None, False)


def naive_work(value: bytes) -> bytes:
    return run_job(value, "naive", _naive_engine()).payload


@functools.cache
def _naive_engine() -> Engine:
    return Engine(WORKER_ENGINE)


WARM_UP = 1_000
BROKER_WARM_UP = 30_000
WORKER_ENGINE = EngineConfig(mixin_policy="reject", detect_patterns=True)
"""The engine settings a worker runs with by default: the baselines use the same."""


async def cpu_ceiling(tag: str, start: int, n: int, batch: int) -> tuple[float, float]:
    """Requests/s of a fresh pool (the worker's size and engine) on ``n`` distinct requests,
    and the CPU its processes spent a request (µs): set against the pipeline's pool, it
    shows whether the pipeline's generation costs more than the ceiling's."""
    pool = GenerationPool(0, config=WORKER_ENGINE, shared_cache=False)
    await asyncio.get_running_loop().run_in_executor(None, pool.start)
    await pool.run([(request_bytes("warm", i), "w") for i in range(50)])
    items = [(request_bytes(tag, i), "cid") for i in range(start, start + n)]
    budget = CpuBudget({"pool": pool.pids})
    budget.start()
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        await pool.run(items[s:s + batch])
    elapsed = time.perf_counter() - t0
    pool_cpu_s = budget.stop()["pool"]
    pool.stop()
    return n / elapsed, pool_cpu_s / n * 1e6


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM of a process and its children (the pool), in MiB."""
    out: dict[str, float] = {}

    def hwm(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    out["worker"] = hwm(pid)
    for i, child in enumerate(children_of(pid)):
        try:
            out[f"pool process {i + 1}"] = hwm(child)
        except FileNotFoundError:
            continue
    return out


async def run_async(n: int = 6_000, latency_n: int = 3_000, naive_n: int = 500) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        return await _measure(bootstrap, db_url, n, latency_n, naive_n)


async def _measure(bootstrap: str, db_url: str, n: int, latency_n: int,
                   naive_n: int, rounds: int = 3) -> Report:
    tag = uuid.uuid4().hex[:6]
    prefix = f"bench{tag}"
    topics = TopicNames(prefix)
    report = Report("End to end through Kafka (real worker) vs baselines",
                    params={"requests": n, "rounds": rounds, "latency_requests": latency_n,
                            "cpus": os.cpu_count()})
    per_round = n // rounds
    throughputs: list[float] = []
    ceilings: list[float] = []
    ceiling_pool_us: list[float] = []
    lat_burst: list[float] = []
    used: dict[str, float] = {}
    faults: dict[str, int] = {}
    elapsed = 0.0
    spans = 0.0  # first request sent to last result seen, summed over the rounds
    await warm_broker(bootstrap, prefix, tag, BROKER_WARM_UP)
    with running_worker(bootstrap=bootstrap, database_url=db_url, prefix=prefix) as worker:
        # Warm-up: every mixin set's composition check, the worker's and the pool's caches.
        await pipeline_phase(bootstrap, topics, tag, 0, WARM_UP, None)
        budget = worker_budget(worker.proc.pid if worker.proc else 0)
        offset = WARM_UP
        for _ in range(rounds):
            # The CPU ceiling right before each pipeline round (worker idle): the machine's
            # speed drifts by tens of percent within minutes, so each ratio compares
            # neighbours, not a figure from another minute.
            ceiling, pool_us = await cpu_ceiling(f"{tag}c", offset, per_round, 50)
            ceilings.append(ceiling)
            ceiling_pool_us.append(pool_us)
            budget.start()
            t0 = time.perf_counter()
            throughput, burst = await pipeline_phase(bootstrap, topics, tag, offset,
                                                     per_round, None)
            elapsed += time.perf_counter() - t0
            for name, seconds in budget.stop().items():
                used[name] = used.get(name, 0.0) + seconds
                faults[name] = faults.get(name, 0) + budget.faults.get(name, 0)
            throughputs.append(throughput)
            spans += per_round / throughput
            lat_burst += burst
            offset += per_round
        throughput = statistics.median(throughputs)
        _, lat = await pipeline_phase(bootstrap, topics, tag, offset, latency_n,
                                      throughput / 2)
        offset += latency_n
        # The machine's speed drifts within minutes, so "half the maximum rate" is also
        # taken from a burst measured right before: half of what it can do now.
        recent, _ = await pipeline_phase(bootstrap, topics, tag, offset, per_round // 2,
                                         None)
        offset += per_round // 2
        _, lat_recent = await pipeline_phase(bootstrap, topics, tag, offset, latency_n,
                                             recent / 2)
        rss = peak_rss_mb(worker.proc.pid if worker.proc else 0)
    # Baselines, on fresh topics of their own, with the worker stopped.
    s = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}b")
    await ensure_topics(s)
    await fill(bootstrap, s.topics.requests, tag, max(per_round, naive_n))
    kafka = await relay(bootstrap, s.topics.requests, s.topics.results, per_round, None, False)
    naive = await relay(bootstrap, s.topics.requests, s.topics.dlq, naive_n, naive_work, True)

    ratios = [t / min(kafka, c) for t, c in zip(throughputs, ceilings, strict=True)]
    ratio = statistics.median(ratios)
    report.add("pipeline throughput", throughput, "req/s", goal=">= 1,000", met=throughput >= 1000,
               note="median of rounds " + ", ".join(f"{t:,.0f}" for t in throughputs))
    report.add("naive agent throughput", naive, "req/s")
    report.add("Kafka ceiling (no work)", kafka, "msg/s")
    report.add("CPU ceiling (pool, no Kafka)", statistics.median(ceilings), "req/s",
               note="median of rounds " + ", ".join(f"{c:,.0f}" for c in ceilings))
    report.add("pipeline / lower ceiling", ratio, "ratio", goal=">= 0.70", met=ratio >= 0.7,
               note="median of the rounds' ratios " + ", ".join(f"{x:.2f}" for x in ratios))
    report.add("pipeline / naive", throughput / naive, "ratio")
    report.add("burst latency p50", percentile(lat_burst, 0.5), "ms", note="all sent at once")
    report.add("latency p50 at half max rate", percentile(lat, 0.5), "ms",
               note=f"{latency_n:,} requests offered at {throughput / 2:,.0f}/s")
    report.add("latency p95 at half max rate", percentile(lat, 0.95), "ms")
    report.add("latency p99 at half max rate", percentile(lat, 0.99), "ms", goal="<= 250",
               met=percentile(lat, 0.99) <= 250)
    report.add("latency mean at half max rate", statistics.fmean(lat), "ms")
    report.add("burst right before the second latency run", recent, "req/s",
               note=f"{per_round // 2:,} requests sent at once")
    report.add("latency p50 at half the rate just measured", percentile(lat_recent, 0.5), "ms",
               note=f"{latency_n:,} requests offered at {recent / 2:,.0f}/s")
    report.add("latency p99 at half the rate just measured", percentile(lat_recent, 0.99), "ms",
               goal="<= 250", met=percentile(lat_recent, 0.99) <= 250)
    for name, mb in rss.items():
        report.add(f"peak RSS {name}", mb, "MiB", goal="<= 400", met=mb <= 400)
    done = per_round * rounds
    for name, seconds in used.items():
        report.add(f"CPU per request: {name}", seconds / done * 1e6, "us",
                   note=f"during the throughput rounds; {faults.get(name, 0) / done:,.1f} "
                   "page faults per request")
    report.add("CPU per request: pool processes in the CPU ceiling",
               statistics.median(ceiling_pool_us), "us",
               note="median of rounds " + ", ".join(f"{u:,.0f}" for u in ceiling_pool_us))
    total = sum(used.values())
    report.add("CPU per request: all of the above", total / done * 1e6, "us",
               note=f"{2 * done / total:,.0f} req/s if two cores did nothing else")
    report.add("cores busy during the throughput rounds", total / elapsed, "cores",
               note=f"of {os.cpu_count()}; the phases' whole time, the result watcher's "
               "start and stop included")
    report.add("cores busy from first request to last result", total / spans, "cores",
               note="the CPU of the whole phase over the rounds' measured spans: a little "
               "high (the watcher's start and stop cost some CPU too)")
    return report


def worker_budget(worker_pid: int) -> CpuBudget:
    """CPU of a worker, its pool, this client and the local broker and Postgres, apart."""
    services = local_service_pids()
    groups = {"worker event loop": lambda: [worker_pid],
              "pool processes": lambda: children_of(worker_pid),
              "benchmark client": lambda: [os.getpid()]}
    if "Kafka broker" in services:
        groups["Kafka broker"] = lambda: [services["Kafka broker"]]
    if "Postgres" in services:
        groups["Postgres"] = lambda: descendants(services["Postgres"])
    return CpuBudget(groups)


def run() -> Report:
    report = asyncio.run(run_async())
    # The cost of TLS + SCRAM-SHA-512 + ACLs: the same pipeline on a secured stack beside
    # the plaintext one, rounds alternating (bench.bench_secure).
    from bench.bench_secure import run as run_secure

    for row in run_secure().rows:
        report.rows.append(row)
    return report


if __name__ == "__main__":
    r = run()
    print(r.render())
    print(r.write_json("e2e"))
