"""What an idle worker costs: CPU of the worker process and of the local broker, no traffic.

The worker's fetch wait (``ONEXGEN_KAFKA_FETCH_MAX_WAIT_MS``) is paid here: a
shorter wait bounds how long busy partitions can stall behind a fetch of quiet
ones, and makes an idle consumer ask the broker more often. To compare values,
run it once per value in the environment, one after the other.

Run: ``python -m bench.bench_idle [--seconds 60]`` with the stack's ``ONEXGEN_*``
variables set (not part of the default ``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid

from bench.bench_e2e import pipeline_phase
from bench.cpu_budget import CpuBudget, local_service_pids
from bench.e2e_sides import START_TIMEOUT_S
from bench.report import Report
from onexgen.settings import Settings, TopicNames
from tests.harness import running_worker, scratch_database


async def run_async(seconds: float) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    wait_ms = Settings().kafka_fetch_max_wait_ms
    report = Report("Idle worker (no traffic)",
                    params={"seconds": seconds, "fetch_max_wait_ms": wait_ms})
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        tag = uuid.uuid4().hex[:6]
        with running_worker(bootstrap=bootstrap, database_url=db_url,
                            prefix=f"idle{tag}", start_timeout_s=START_TIMEOUT_S) as worker:
            # A few requests first, so every partition has been fetched from at least once.
            await pipeline_phase(bootstrap, TopicNames(f"idle{tag}"), tag, 0, 100, None)
            await asyncio.sleep(5)
            worker_pid = worker.proc.pid if worker.proc else 0
            groups = {"worker": lambda: [worker_pid]}
            if broker := local_service_pids().get("Kafka broker"):
                groups["local broker"] = lambda: [broker]
            budget = CpuBudget(groups)
            budget.start()
            await asyncio.sleep(seconds)
            for name, used in budget.stop().items():
                report.add(f"CPU of the {name}", used / seconds * 100, "% of a core",
                           note=f"fetch wait {wait_ms} ms")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_idle")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to measure")
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds needs a number above 0, e.g. 60")
    report = asyncio.run(run_async(args.seconds))
    print(report.render())
    print(report.write_json("idle"))


if __name__ == "__main__":
    main()
