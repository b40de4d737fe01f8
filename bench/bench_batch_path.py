"""The batch processor's own work a request, two checkouts side by side.

``BatchProcessor.process`` on batches of ``--batch`` requests with the pool and the
publisher replaced by answers made in advance (a 9.4 KB result each, its render stage
timed), real metrics, monitor and row sinks' row building: what the worker spends
around the pool and Kafka a request (correlation ids, records, observations, event rows,
the batch's log line). Each checkout runs in its own process (``code=PATH``'s import
path), in alternating rounds; CPU time a request.

Run: ``git worktree add --detach /tmp/old <commit>``, then ``python -m
bench.bench_batch_path --before /tmp/old [--rounds 6]`` (no services).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import Report

PAYLOAD = os.urandom(9_400)


def _measure(batch: int, batches: int) -> float:
    """CPU µs a request in this process (its import path decides the code)."""
    import structlog
    from prometheus_client import CollectorRegistry

    from onexgen.generation.batch import BatchProcessor
    from onexgen.generation.job import JobOutcome
    from onexgen.observability.metrics import PipelineMetrics
    from onexgen.observability.monitor import Monitor
    from onexgen.settings import TopicNames
    from onexgen.streams.records import InboundMessage

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    class Pool:
        async def run(self, items: Sequence[Any]) -> list[Any]:
            t = time.time_ns()
            return [JobOutcome("result", f"r{i}", "succeeded", PAYLOAD, None, None, 3.0,
                               stage_ns=(("render", t, t + 1_000_000),))
                    for i in range(len(items))]

    class Publisher:
        async def publish(self, records: Sequence[Any]) -> None:
            return None

    class Sink:
        def add(self, rows: Any) -> None:
            list(rows)

    now_ms = int(time.time() * 1000)
    messages = [InboundMessage("p.requests", i % 4, i, f"k{i}".encode(), b"{}" * 200,
                               [("correlation-id", b"%032x" % i), ("traceparent", b"00-x")],
                               now_ms - 20 - i % 3) for i in range(batch)]
    registry = CollectorRegistry()
    processor = BatchProcessor(topics=TopicNames("p"), pool=Pool(), publisher=Publisher(),  # type: ignore[arg-type]  # stand-ins
                               metrics=PipelineMetrics(registry), monitor=Monitor(registry),
                               event_sink=Sink(), request_sink=Sink(),  # type: ignore[arg-type]  # likewise
                               tracing=False)

    async def run(n: int) -> None:
        for _ in range(n):
            await processor.process(messages)

    asyncio.run(run(20))  # warm
    started = time.process_time()
    asyncio.run(run(batches))
    return (time.process_time() - started) / (batch * batches) * 1e6


def _in(code: Path, batch: int, batches: int) -> float:
    # This file, run with the checkout first on the import path (an older checkout need
    # not have it).
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                          str(batch), str(batches)], cwd=code, check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(code)}).stdout
    return float(json.loads(out.strip().splitlines()[-1])["us"])


def run(before: Path, rounds: int = 6, batch: int = 60, batches: int = 300) -> Report:
    here = Path(__file__).resolve().parent.parent
    codes = {f"before ({before})": before, "this checkout": here}
    costs: dict[str, list[float]] = {name: [] for name in codes}
    for r in range(rounds):
        for name in list(codes) if r % 2 == 0 else list(codes)[::-1]:
            costs[name].append(_in(codes[name], batch, batches))
    report = Report("The batch processor's own work a request, two checkouts")
    report.params = {"rounds": rounds, "batch": batch, "batches_a_round": batches,
                     "load_average_at_start": os.getloadavg()[0]}
    report.add_paired("batch path", costs, f"before ({before})", "us", note="CPU a request")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_batch_path")
    parser.add_argument("--before", type=Path, help="a checkout of the other commit")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"us": _measure(*args.child)}))
        return
    if args.before is None:
        parser.error("--before PATH: a checkout of the commit to compare with "
                     "(git worktree add --detach /tmp/old <commit>)")
    report = run(args.before.resolve(), args.rounds, args.batch)
    print(report.render())
    print(f"wrote {report.write_json('batch_path')}")


if __name__ == "__main__":
    main()
