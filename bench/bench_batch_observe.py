"""The batch processor's per-request observability: one call a request against one a batch.

For a batch of ``--batch`` requests the worker observes each request's duration and
queue wait (two Prometheus histograms), its render stage (the stage histogram and the
``generation_duration_ms`` window) and its latency (the shared latency window). "per
request" makes those calls one a value, as the worker did up to session 15; "per batch"
is ``observe_many`` / ``observe_stage_many`` / ``add_many`` (what
``generation.batch`` calls now). Both leave the same buckets, sums and windows
(``tests/unit/observability/test_histograms.py``). Alternating rounds, CPU time.

Also the windows' reads (the rule engine's snapshot every 0.5 s: a mean, a p95 and a
rate over full 4,096-sample windows, after 500 new samples each): ``SampleWindow`` of
``--before`` (default 4b0cc7d, session 16's start: one deque of (time, value) tuples)
loaded from git, against the current one (times and values in two deques); one add a
value on both sides, so only the store differs.

Run: ``python -m bench.bench_batch_observe [--rounds 8] [--batch 60] [--before REV]``
(no services; ``--before`` needs the git history).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time
import types
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from bench.report import Report
from onexgen.observability.histograms import observe_many
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor
from onexgen.observability.windows import SampleWindow

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


def _windows_of(rev: str) -> Any:
    """``onexgen/observability/windows.py`` as it was at ``rev``, as a module."""
    source = subprocess.run(["git", "show", f"{rev}:onexgen/observability/windows.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"windows_{rev}")
    exec(compile(source, f"windows@{rev}", "exec"), module.__dict__)  # noqa: S102  # our own file
    return module


def _read_cost(window_class: Any, evaluations: int, seed: int) -> float:
    """CPU µs of an evaluation's reads of three windows (500 adds to each before, untimed)."""
    rng = random.Random(seed)
    windows = [window_class(60.0, how) for how in ("mean", "p95", "rate")]
    values = [rng.uniform(0, 100) for _ in range(500)]
    for w in windows:  # full from the start: 4,096 samples
        for i in range(4096):
            w.add(0.0, values[i % 500])
    spent = 0.0
    for e in range(evaluations):
        for w in windows:
            for v in values:
                w.add(1.0 + e, v)
        started = time.process_time()
        for w in windows:
            w.value(1.0 + e)
        spent += time.process_time() - started
    return spent / evaluations * 1e6


def run(rounds: int = 8, batch: int = 60, batches: int = 500, before: str = "4b0cc7d") -> Report:
    ways: dict[str, Way] = {"per request": per_request, "per batch": per_batch}
    costs: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(rounds):
        for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            costs[name].append(_cost(ways[name], batch, batches, seed=r))
    report = Report("Per-request observability: one call a request against one a batch")
    old = _windows_of(before).SampleWindow
    reads: dict[str, list[float]] = {f"windows of {before}": [], "windows now": []}
    for r in range(rounds):
        pair = [(f"windows of {before}", old), ("windows now", SampleWindow)]
        for name, cls in pair if r % 2 == 0 else pair[::-1]:
            reads[name].append(_read_cost(cls, 40, seed=r))
    report.params = {"rounds": rounds, "batch": batch, "batches_a_round": batches,
                     "before": before, "load_average_at_start": os.getloadavg()[0]}
    report.add_paired("histograms + windows", costs, "per request", "us",
                      note="CPU a request")
    report.add_paired("an evaluation's 3 window reads", reads, f"windows of {before}", "us",
                      note="CPU")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_batch_observe")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=60, help="requests a batch")
    parser.add_argument("--before", default="4b0cc7d", help="git revision of the old windows")
    args = parser.parse_args()
    report = run(args.rounds, args.batch, before=args.before)
    print(report.render())
    print(f"wrote {report.write_json('batch_observe')}")


if __name__ == "__main__":
    main()
