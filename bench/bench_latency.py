"""Latency at chosen offered rates through a real worker, with the worker's own view of it.

One worker, warmed up, then bursts (three by default; their median is the current
maximum, this machine's speed drifting as it does) and one paced run per rate. For each
rate: p50/p95/p99 from produce to the result reaching a consumer, and where the slowest
1% spent it by the worker's own ``batch`` log lines (``tail_split``). To compare two
versions, run it on each, one after the other, and repeat: single runs on this
machine differ by tens of percent.

Run: ``python -m bench.bench_latency [--rates 150,390] [--requests 2000] [--bursts 3]
[--burst-requests N]`` with the stack's ``ONEXGEN_*`` variables set (not part of the
default ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.bench_e2e import WARM_UP, percentile, pipeline_phase
from bench.report import Report
from onexgen.settings import TopicNames
from tests.harness import running_worker, scratch_database


async def run_async(rates: list[float], requests: int, bursts: int = 3,
                    burst_requests: int | None = None) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    burst_requests = burst_requests or requests
    report = Report("Latency at offered rates (real worker)",
                    params={"rates": rates, "requests": requests, "bursts": bursts,
                            "burst_requests": burst_requests})
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        tag = uuid.uuid4().hex[:6]
        topics = TopicNames(f"lat{tag}")
        with running_worker(bootstrap=bootstrap, database_url=db_url,
                            prefix=f"lat{tag}") as worker:
            await pipeline_phase(bootstrap, topics, tag, 0, WARM_UP, None)
            offset = WARM_UP
            measured = []
            for _ in range(bursts):
                rate, _ = await pipeline_phase(bootstrap, topics, tag, offset, burst_requests,
                                               None)
                measured.append(rate)
                offset += burst_requests
            report.add(f"burst throughput (median of {bursts})", statistics.median(measured),
                       "req/s", note=", ".join(f"{b:,.0f}" for b in measured))
            for rate in rates:
                log_at = worker.log_file.stat().st_size
                _, lat = await pipeline_phase(bootstrap, topics, tag, offset, requests, rate)
                offset += requests
                for q in (0.5, 0.95, 0.99):
                    report.add(f"latency p{round(q * 100)} at {rate:g}/s",
                               percentile(lat, q), "ms")
                add_tail_split(report, rate, await batch_lines(worker.log_file, log_at,
                                                               requests))
    return report


STAGES = (("queue_wait_ms_max", "queue wait (request's Kafka time -> its batch starts)"),
          ("generate_ms", "generate (pool admission + generation)"),
          ("publish_ms", "publish (results durable on Kafka)"),
          ("size", "batch size"))


async def batch_lines(log_file: Path, start: int, requests: int,
                      timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """The worker's ``batch`` log lines written after byte ``start`` of its log, once they
    account for ``requests`` (the log is written after each batch is published)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with log_file.open("rb") as f:
            f.seek(start)
            found = [orjson.loads(line) for line in f.read().splitlines()
                     if b'"event":"batch"' in line.replace(b" ", b"")]
        if sum(b.get("size", 0) for b in found) >= requests or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


def tail_split(batches: list[dict[str, Any]], share: float = 0.01
               ) -> dict[str, tuple[float, float]]:
    """Per stage, (median over the slowest ``share`` of requests, median over all).

    A request's time in the worker is its queue wait plus its batch's ``duration_ms``;
    the log gives a batch's longest queue wait (its first request's), so every request
    of a batch counts with that: the slowest requests are those of the batches whose
    first request waited longest, weighted by their size."""
    per_request = [b for b in batches for _ in range(int(b.get("size", 0)))]
    if not per_request:
        return {}
    per_request.sort(key=lambda b: b["queue_wait_ms_max"] + b["duration_ms"], reverse=True)
    slowest = per_request[:max(1, round(len(per_request) * share))]
    return {key: (statistics.median(b[key] for b in slowest),
                  statistics.median(b[key] for b in per_request)) for key, _ in STAGES}


def add_tail_split(report: Report, rate: float, batches: list[dict[str, Any]]) -> None:
    for key, (slow, typical) in tail_split(batches).items():
        label = dict(STAGES)[key]
        report.add(f"slowest 1% at {rate:g}/s: {label}", slow,
                   "requests" if key == "size" else "ms",
                   note=f"median of all requests: {typical:,.1f}; {len(batches)} batches")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_latency")
    parser.add_argument("--rates", default="150,390",
                        help="comma-separated offered rates, requests per second")
    parser.add_argument("--requests", type=int, default=2000, help="requests per paced run")
    parser.add_argument("--bursts", type=int, default=3, help="bursts before the paced runs")
    parser.add_argument("--burst-requests", type=int, default=None,
                        help="requests per burst (default: --requests)")
    args = parser.parse_args()
    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error(f"--rates {args.rates!r}: give numbers separated by commas, e.g. 150,390")
    if not rates or min(rates) <= 0:
        parser.error("--rates needs at least one rate above 0, e.g. 150,390")
    if min(args.requests, args.bursts, args.burst_requests or 1) < 1:
        parser.error("--requests, --bursts and --burst-requests need a whole number above 0")
    report = asyncio.run(run_async(rates, args.requests, args.bursts, args.burst_requests))
    print(report.render())
    print(report.write_json("latency"))


if __name__ == "__main__":
    main()
