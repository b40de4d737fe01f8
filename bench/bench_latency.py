"""Latency at chosen offered rates through a real worker, with the worker's own view of it.

One worker, warmed up, then bursts (three by default; their median is the current
maximum, this machine's speed drifting as it does) and one paced run per rate. For each
rate: p50/p95/p99 from produce to the result reaching a consumer. To compare two
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
import uuid

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
        with running_worker(bootstrap=bootstrap, database_url=db_url, prefix=f"lat{tag}"):
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
                _, lat = await pipeline_phase(bootstrap, topics, tag, offset, requests, rate)
                offset += requests
                for q in (0.5, 0.95, 0.99):
                    report.add(f"latency p{round(q * 100)} at {rate:g}/s",
                               percentile(lat, q), "ms")
    return report


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
