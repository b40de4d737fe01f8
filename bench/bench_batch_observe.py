"""The batch processor's per-request observability: one call a request against one a batch.

For a batch of ``--batch`` requests the worker observes each request's duration and
queue wait (two Prometheus histograms), its render stage (the stage histogram and the
``generation_duration_ms`` window) and its latency (the shared latency window). "per
request" makes those calls one a value, as the worker did up to session 15; "per batch"
is ``observe_many`` / ``observe_stage_many`` / ``add_many`` (what
``generation.batch`` calls now). Both leave the same buckets, sums and windows
(``tests/unit/observability/test_histograms.py``). Alternating rounds, CPU time.

Run: ``python -m bench.bench_batch_observe [--rounds 8] [--batch 60]`` (no services).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from bench.report import Report
from onexgen.observability.histograms import observe_many
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor

Way = Callable[[PipelineMetrics, Monitor, list[float], list[float], list[float]], None]


def per_request(m: PipelineMetrics, monitor: Monitor, waits: list[float],
                renders: list[float], latencies: list[float]) -> None:
    for render in renders:
        monitor.observe_stage("render", render)
    now = monitor.clock()
    for window in monitor._latency_windows:
        for latency in latencies:
            window.add(now, latency)
    for w, latency in zip(waits, latencies, strict=True):
        m.request_duration.observe(latency / 1000)
        m.queue_wait.observe(w / 1000)


def per_batch(m: PipelineMetrics, monitor: Monitor, waits: list[float],
              renders: list[float], latencies: list[float]) -> None:
    monitor.observe_stage_many("render", renders)
    now = monitor.clock()
    for window in monitor._latency_windows:
        window.add_many(now, latencies)
    observe_many(m.request_duration, [latency / 1000 for latency in latencies])
    observe_many(m.queue_wait, [w / 1000 for w in waits])


def _cost(way: Way, batch: int, batches: int, seed: int) -> float:
    """CPU µs a request for ``batches`` batches of ``batch`` requests."""
    registry = CollectorRegistry()
    m, monitor = PipelineMetrics(registry), Monitor(registry)
    rng = random.Random(seed)
    inputs = []
    for _ in range(batches):
        waits = [rng.expovariate(1 / 30) for _ in range(batch)]
        duration = rng.uniform(20, 80)
        inputs.append((waits, [rng.uniform(0.0005, 0.004) for _ in range(batch)],
                       [w + duration for w in waits]))
    started = time.process_time()
    for waits, renders, latencies in inputs:
        way(m, monitor, waits, renders, latencies)
    return (time.process_time() - started) / (batch * batches) * 1e6


def run(rounds: int = 8, batch: int = 60, batches: int = 500) -> Report:
    ways: dict[str, Way] = {"per request": per_request, "per batch": per_batch}
    costs: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(rounds):
        for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            costs[name].append(_cost(ways[name], batch, batches, seed=r))
    report = Report("Per-request observability: one call a request against one a batch")
    report.params = {"rounds": rounds, "batch": batch, "batches_a_round": batches,
                     "load_average_at_start": os.getloadavg()[0]}
    base = costs["per request"]
    for name, values in costs.items():
        lower = sum(1 for a, b in zip(values, base, strict=True) if a < b)
        report.add(f"histograms + windows, {name}", statistics.median(values), "us",
                   note=f"CPU a request, median of {rounds} rounds" + (
                       f"; lower in {lower} of {rounds}" if values is not base else ""))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_batch_observe")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=60, help="requests a batch")
    args = parser.parse_args()
    report = run(args.rounds, args.batch)
    print(report.render())
    print(f"wrote {report.write_json('batch_observe')}")


if __name__ == "__main__":
    main()
