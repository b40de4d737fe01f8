"""End to end through the real broker: onexgen's worker against the pipeline a capable
engineer would write by hand, side by side in one run (issue 25).

Measured after ``broker_warm_up`` requests relayed through the broker with no work
(its JIT compiler's warm-up, see ``warm_broker``), four pipelines, each on topics of
its own and each warmed with 1,000 requests, all running for the whole run:

- ``onexgen worker``: a real ``onexgen worker`` process, every feature on;
- ``plain pipeline``: ``bench.plain_pipeline``, aiokafka ``getmany`` + a 2-process
  ``ProcessPoolExecutor`` running the same generation function, idempotent ``acks=all``
  producer, offsets committed after the batch's records are acknowledged;
- ``plain + features``: the same with the output cache and the metric rows to
  Postgres switched on, so features and framework cost are reported apart;
- ``Faust + pool``: ``bench.faust_pipeline``, the plain pipeline's work consumed by a
  minimal Faust agent (``noack_take``, acks after the results are acknowledged), no
  onexgen feature: Faust's own cost, apart from onexgen's.

The baselines take the ``ONEXGEN_KAFKA_*`` security settings as the worker does, so the
benchmark runs on a secured stack too. Before the rounds, the same requests (with the
same correlation ids) go through every pipeline, and each baseline's results must be
byte-identical to the worker's.

Each round measures the CPU ceiling (the same generation in a fresh pool, no Kafka),
then sends ``per_round`` distinct requests at once through each pipeline in turn,
the order rotated every round (the machine's speed drifts within minutes, and other
work shares its two cores): the ratios are taken per round, between neighbours,
and their median reported. Then one more round each under a sampling profiler
(``bench.profile``: the pipeline process's CPU per request by component), and
latency at one offered rate for all, half the plain pipeline's median throughput,
in two alternating halves. The naive one-at-a-time agent and the Kafka ceiling
follow, with the pipelines stopped. CPU per process group comes from /proc
(``bench.cpu_budget``).

Run: ``python -m bench e2e`` (``make bench``), or ``python -m bench.bench_e2e
--per-round N --rounds 4 --latency M --broker-warm-up W`` with ``ONEXGEN_KAFKA_BOOTSTRAP``
and ``ONEXGEN_DATABASE_URL`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError

from bench.cpu_budget import CpuBudget, children_of, descendants, local_service_pids
from bench.e2e_sides import START_TIMEOUT_S, compare_results, running_baseline
from bench.profile import Profiler
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
    # A long session: the naive agent renders on the loop, and on a loaded machine its
    # heartbeats may come late (a commit after a rebalance is then skipped, not fatal).
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap,
                                group_id=f"relay-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                session_timeout_ms=45_000, max_poll_interval_ms=300_000,
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
                        with contextlib.suppress(CommitFailedError):
                            await consumer.commit()
                    else:
                        futures.append(await producer.send(sink, value, key=r.key))
                    done += 1
            if futures:
                await asyncio.gather(*futures)
                with contextlib.suppress(CommitFailedError):
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
    await pool.start()
    await pool.run([(request_bytes("warm", i), "w") for i in range(50)])
    items = [(request_bytes(tag, i), "cid") for i in range(start, start + n)]
    budget = CpuBudget({"pool": pool.pids})
    budget.start()
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        await pool.run(items[s:s + batch])
    elapsed = time.perf_counter() - t0
    pool_cpu_s = budget.stop()["pool"]
    await pool.stop()
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


LATENCY_REQUESTS = 6_000
"""Requests a pipeline's half-load latency is measured on: the p99 of 1,500 is its 15th
slowest, and one worker's p99 varied 58-114 ms from round to round at that size
(BENCHMARKS.md, session 17); of 6,000, the 60th."""


async def run_async(n: int = 1_500, latency_n: int = LATENCY_REQUESTS, naive_n: int = 300,
                    rounds: int = 4, broker_warm_up: int = BROKER_WARM_UP) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        return await _measure(bootstrap, db_url, n, latency_n, naive_n, rounds, broker_warm_up)


PIPELINES = ("onexgen worker", "plain pipeline", "plain + features", "Faust + pool")
"""The rows measured side by side: onexgen's worker (every feature on, as deployed), the
hand-written aiokafka + ``ProcessPoolExecutor`` pipeline (``bench.plain_pipeline``), the
same with onexgen's output cache and metric rows to Postgres switched on, and the same
work consumed by a minimal Faust agent (``bench.faust_pipeline``)."""
BASELINES = ((PIPELINES[1], "bench.plain_pipeline", "p", False),
             (PIPELINES[2], "bench.plain_pipeline", "f", True),
             (PIPELINES[3], "bench.faust_pipeline", "a", False))
IDENTITY_CHECK = 200
"""Requests sent through every pipeline whose results must be byte-identical."""


@dataclass
class Side:
    """One pipeline under test: its topics, its process and what it measured."""

    name: str
    topics: TopicNames
    pid: int
    throughputs: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    used: dict[str, float] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    done: int = 0
    profile: dict[str, float] = field(default_factory=dict)
    profile_us: float = 0.0
    profile_error: str = ""


async def _measure(bootstrap: str, db_url: str, per_round: int, latency_n: int,
                   naive_n: int, rounds: int, broker_warm_up: int) -> Report:
    tag = uuid.uuid4().hex[:6]
    prefix = f"bench{tag}"
    report = Report("End to end through Kafka: onexgen worker vs the plain aiokafka pipeline",
                    params={"requests_per_round": per_round, "rounds": rounds,
                            "latency_requests": latency_n, "cpus": os.cpu_count(),
                            "load_average_at_start": os.getloadavg()[0]})
    ceilings: list[float] = []
    ceiling_pool_us: list[float] = []
    await warm_broker(bootstrap, prefix, tag, broker_warm_up)
    with contextlib.ExitStack() as stack:
        worker = stack.enter_context(running_worker(bootstrap=bootstrap, database_url=db_url,
                                                    prefix=prefix,
                                                    start_timeout_s=START_TIMEOUT_S))
        sides = [Side(PIPELINES[0], TopicNames(prefix), worker.proc.pid if worker.proc else 0)]
        for name, module, suffix, features in BASELINES:
            s = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}{suffix}")
            await ensure_topics(s)
            pid = stack.enter_context(running_baseline(module, bootstrap, s.topic_prefix,
                                                       db_url if features else None))
            sides.append(Side(name, s.topics, pid))
        offset = 0
        for side in sides:  # warm-up: caches, composition checks, each pool
            await pipeline_phase(bootstrap, side.topics, tag, offset, WARM_UP, None)
            offset += WARM_UP
        same = [(f"{tag}s-{i}".encode(), request_bytes(f"{tag}s", i))
                for i in range(IDENTITY_CHECK)]
        differ = await compare_results(bootstrap, {s.name: s.topics for s in sides}, same,
                                       env_security())
        for r in range(rounds):
            # The CPU ceiling first, then each pipeline in turn, the order rotated every
            # round: the machine's speed drifts within minutes (and other helpers' test
            # suites share its two cores), so each ratio compares neighbours.
            ceiling, pool_us = await cpu_ceiling(f"{tag}c", offset, per_round, 50)
            ceilings.append(ceiling)
            ceiling_pool_us.append(pool_us)
            for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                budget = worker_budget(side.pid)
                budget.start()
                t0 = time.perf_counter()
                throughput, burst = await pipeline_phase(bootstrap, side.topics, tag, offset,
                                                         per_round, None)
                side.elapsed += time.perf_counter() - t0
                for name, seconds in budget.stop().items():
                    side.used[name] = side.used.get(name, 0.0) + seconds
                    side.faults[name] = side.faults.get(name, 0) + budget.faults.get(name, 0)
                side.throughputs.append(throughput)
                side.burst += burst
                side.done += per_round
                offset += per_round
        for side in sides:  # one more round each under a sampling profiler (not counted above)
            cpu = CpuBudget({"process": functools.partial(list, [side.pid])})
            cpu.start()
            with Profiler(side.pid) as profiler:
                await pipeline_phase(bootstrap, side.topics, tag, offset, per_round, None)
            side.profile_us = cpu.stop()["process"] / per_round * 1e6
            side.profile, side.profile_error = profiler.shares, profiler.error
            offset += per_round
        # Latency at one offered rate for all: half the plain pipeline's median throughput.
        rate = statistics.median(sides[1].throughputs) / 2
        for part in range(2):
            for side in (sides if part == 0 else sides[::-1]):
                _, lat = await pipeline_phase(bootstrap, side.topics, tag, offset,
                                              latency_n // 2, rate)
                side.latencies += lat
                offset += latency_n // 2
        rss = peak_rss_mb(sides[0].pid)
    # Baselines, on fresh topics of their own, with the pipelines stopped.
    s = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"{prefix}b")
    await ensure_topics(s)
    await fill(bootstrap, s.topics.requests, tag, max(per_round, naive_n))
    kafka = await relay(bootstrap, s.topics.requests, s.topics.results, per_round, None, False)
    naive = await relay(bootstrap, s.topics.requests, s.topics.dlq, naive_n, naive_work, True)
    _report(report, sides, ceilings, ceiling_pool_us, kafka, naive, rate, rss)
    for name, count in differ.items():
        report.add(f"{name}: results differing from onexgen's", count, "results",
                   goal="0", met=count == 0,
                   note=f"of {IDENTITY_CHECK} requests sent through every pipeline, "
                   "compared byte for byte")
    return report


def _report(report: Report, sides: list[Side], ceilings: list[float],
            ceiling_pool_us: list[float], kafka: float, naive: float, rate: float,
            rss: dict[str, float]) -> None:
    onex, plain, feat, faust = sides
    med = {s.name: statistics.median(s.throughputs) for s in sides}
    for s in sides:
        ratios = [t / min(kafka, c) for t, c in zip(s.throughputs, ceilings, strict=True)]
        report.add(f"{s.name}: throughput", med[s.name], "req/s",
                   note="median of rounds " + ", ".join(f"{t:,.0f}" for t in s.throughputs))
        report.add(f"{s.name}: / lower ceiling", statistics.median(ratios), "ratio",
                   goal=">= 0.85" if s is onex else "",
                   met=statistics.median(ratios) >= 0.85 if s is onex else None,
                   note="median of the rounds' ratios " + ", ".join(f"{x:.2f}" for x in ratios))
    for one, other, goal in ((onex, plain, 0.95), (onex, feat, 1.0), (onex, faust, None),
                             (faust, plain, None)):
        per_round = [a / b for a, b in zip(one.throughputs, other.throughputs, strict=True)]
        ratio = statistics.median(per_round)
        report.add(f"{'onexgen' if one is onex else one.name} / {other.name}", ratio, "ratio",
                   goal="" if goal is None else f">= {goal:.2f}",
                   met=None if goal is None else ratio >= goal,
                   note="median of the rounds' ratios " + ", ".join(f"{x:.2f}" for x in per_round))
    report.add("naive agent throughput", naive, "req/s")
    report.add("Kafka ceiling (no work)", kafka, "msg/s")
    report.add("CPU ceiling (pool, no Kafka)", statistics.median(ceilings), "req/s",
               note="median of rounds " + ", ".join(f"{c:,.0f}" for c in ceilings))
    for s in sides:
        for q in (0.5, 0.99):
            mine, theirs = percentile(s.latencies, q), percentile(plain.latencies, q)
            report.add(f"{s.name}: latency p{q * 100:g} at {rate:,.0f}/s", mine, "ms",
                       goal=f"<= plain's {theirs:.1f}" if s is onex else "",
                       met=mine <= theirs if s is onex else None,
                       note=f"{len(s.latencies):,} requests, in two alternating halves")
        report.add(f"{s.name}: burst latency p50", percentile(s.burst, 0.5), "ms",
                   note="all of a round sent at once")
    for s in sides:
        for name, seconds in s.used.items():
            report.add(f"{s.name}: CPU per request, {name}", seconds / s.done * 1e6, "us",
                       note=f"throughput rounds; {s.faults.get(name, 0) / s.done:,.1f} "
                       "page faults per request")
        total = sum(s.used.values())
        report.add(f"{s.name}: pool processes busy", s.used.get("pool processes", 0.0)
                   / s.elapsed, "cores", note="during its throughput rounds")
        report.add(f"{s.name}: CPU per request, all", total / s.done * 1e6, "us")
    own = {s.name: s.used.get("pipeline process", 0.0) / s.done * 1e6 for s in sides}
    report.add("Faust's cost: pipeline process CPU per request, Faust + pool - plain",
               own[faust.name] - own[plain.name], "us", note="the same work, consumed "
               "through a minimal Faust agent instead of aiokafka's getmany")
    report.add("onexgen's own cost: pipeline process CPU per request, onexgen - Faust + pool",
               own[onex.name] - own[faust.name], "us", note="onexgen's features and "
               "machinery on top of Faust (plain + features - plain: "
               f"{own[feat.name] - own[plain.name]:,.0f} us of it is the cache and metric rows)")
    for s in sides:
        if s.profile_error:
            report.add(f"{s.name}: profile", float("nan"), "", note=s.profile_error)
        report.add(f"{s.name}: process CPU per request, profiled round", s.profile_us, "us",
                   note="its own round, under py-spy (GIL holder only); split below by samples")
        for component, share in sorted(s.profile.items(), key=lambda kv: -kv[1]):
            report.add(f"{s.name}: profile, {component}", share * s.profile_us, "us",
                       note=f"{share:.0%} of the process's samples")
    report.add("CPU per request: pool processes in the CPU ceiling",
               statistics.median(ceiling_pool_us), "us",
               note="median of rounds " + ", ".join(f"{u:,.0f}" for u in ceiling_pool_us))
    for name, mb in rss.items():
        report.add(f"onexgen peak RSS {name}", mb, "MiB", goal="<= 400", met=mb <= 400)


def worker_budget(worker_pid: int, local: Path | None = None) -> CpuBudget:
    """CPU of a pipeline's process (all its threads), its pool, this client and the local
    broker and Postgres (of the stack under ``local``; default ``.local``), apart."""
    services = local_service_pids() if local is None else local_service_pids(local)
    groups = {"pipeline process": lambda: [worker_pid],
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
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.bench_e2e")
    parser.add_argument("--per-round", type=int, default=1_500)
    parser.add_argument("--rounds", type=int, default=4,
                        help="a multiple of 4: each pipeline takes each place in the order alike")
    parser.add_argument("--latency", type=int, default=LATENCY_REQUESTS)
    parser.add_argument("--broker-warm-up", type=int, default=BROKER_WARM_UP)
    a = parser.parse_args()
    r = asyncio.run(run_async(a.per_round, a.latency, 300, a.rounds, a.broker_warm_up))
    print(r.render())
    print(r.write_json("e2e"))
