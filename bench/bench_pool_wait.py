"""The pool's part of the latency at a chosen rate, two codes side by side:
``python -m bench.bench_pool_wait --before REF --rate 515``.

Why: at half load the worker's p99 (103-162 ms) sat above the plain pipeline's (77-144),
and the question was whether the pool's scheduler holds work back or queues it behind a
busy process while another is idle. Here each side is one long-lived process with the
worker's generation pool (2 processes, the worker's engine and ``min_chunk``), fed
without Kafka by the worker's batching rule: requests arrive at ``--rate`` a second
(exponential gaps, the same for both sides), a batch closes at once when no batch is in
the pool and otherwise ``--window`` ms after its first request or at ``--batch``
requests, at most 3 batches in the pool at a time (``ONEXGEN_BATCHES_IN_FLIGHT``).
Per request: latency (arrival to its batch's answer) and time in the pool (submission to
the answer). ``--sleep-ms``: jobs that sleep (0.5-1.5x that long) instead of generating,
so the scheduler is measured apart from the machine's load (a shared machine at load
10-30 cannot serve 515 requests/s of real jobs at all). Rounds alternate between the
sides on the same fresh requests (``--before``: a git ref, exported, or a directory
holding ``onexgen/``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.bench_job_stages import _export, _request_bytes_source
from bench.report import Report

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import asyncio, json, random, sys, time
import onexgen
assert onexgen.__file__.startswith(sys.argv[1]), (onexgen.__file__, sys.argv[1])
from onexgen.settings import Settings
from onexgen.generation.engine import engine_config
from onexgen.generation.pool import GenerationPool
exec(sys.argv[2])  # request_bytes(tag, i): the e2e bench's requests
SLEEP_MS = float(sys.argv[3])

class SleepPool:
    # The worker's process pool (procpool) running time.sleep jobs.
    def __init__(self, size, min_chunk):
        from onexgen.procpool import ProcessPool
        def refuse(item, detail):
            raise RuntimeError(f"a sleeping job failed: {detail}")
        self.pool = ProcessPool(size, time.sleep, on_timeout=refuse, on_error=refuse,
                                min_chunk=min_chunk)
    async def start(self):
        await self.pool.start()
    async def run(self, items):
        return await self.pool.submit(items)
    async def stop(self):
        await self.pool.stop()

def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]

async def run_round(pool, tag, start, n, rate, window, batch_max, in_flight, seed):
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    arrivals, t = [], t0
    for _ in range(n):
        t += rng.expovariate(rate)
        arrivals.append(t)
    durations = [rng.uniform(0.5, 1.5) * SLEEP_MS / 1000 for _ in range(n)]
    latencies, in_pool = [], []
    busy = set()
    async def submit(indices):
        if SLEEP_MS:  # jobs that sleep: the scheduler alone, whatever the machine's load
            items = [(durations[i],) for i in indices]
        else:
            items = [(request_bytes(tag, start + i), f"cid-{i}") for i in indices]
        sent = loop.time()
        await pool.run(items)
        done = loop.time()
        for i in indices:
            latencies.append((done - arrivals[i]) * 1000)
            in_pool.append((done - sent) * 1000)
    next_i = 0
    tasks = []
    while next_i < n:
        first = arrivals[next_i]
        if loop.time() < first:
            await asyncio.sleep(first - loop.time())
        # Closes at once when the pool has no batch, else window after its first request.
        close = first if not busy else first + window
        while True:
            now = loop.time()
            arrived = sum(1 for a in arrivals[next_i:next_i + batch_max] if a <= now)
            if arrived >= batch_max or (now >= close and arrived) or (not busy and arrived):
                break
            await asyncio.sleep(0.001)
        while len(busy) >= in_flight:
            await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
        now = loop.time()
        arrived = sum(1 for a in arrivals[next_i:next_i + batch_max] if a <= now)
        indices = list(range(next_i, next_i + max(arrived, 1)))
        next_i += len(indices)
        task = asyncio.ensure_future(submit(indices))
        busy.add(task)
        task.add_done_callback(busy.discard)
        tasks.append(task)
    await asyncio.gather(*tasks)
    return {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95),
            "p99": pct(latencies, 0.99), "pool_p50": pct(in_pool, 0.5),
            "pool_p99": pct(in_pool, 0.99), "batches": len(tasks)}

async def main():
    settings = Settings()
    if SLEEP_MS:
        pool = SleepPool(settings.codegen_workers or 2, settings.codegen_min_chunk)
        await pool.start()
    else:
        pool = GenerationPool(settings.codegen_workers, min_chunk=settings.codegen_min_chunk,
                              config=engine_config(settings), shared_cache=False)
        await pool.start()
        await pool.run([(request_bytes("warm", i), "w") for i in range(200)])
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            tag, start, n, rate, window, batch_max, in_flight, seed = line.split()
            result = await run_round(pool, tag, int(start), int(n), float(rate),
                                     float(window) / 1000, int(batch_max), int(in_flight),
                                     int(seed))
            print(json.dumps(result), flush=True)
    finally:
        await pool.stop()

asyncio.run(main())
"""


def _start(tree: Path, sleep_ms: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tree), _request_bytes_source(),
                             str(sleep_ms)],
                            cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def _ask(side: subprocess.Popen[str], line: str) -> dict[str, Any]:
    assert side.stdin is not None and side.stdout is not None
    side.stdin.write(line + "\n")
    side.stdin.flush()
    answer = side.stdout.readline()
    if not answer:
        raise RuntimeError(f"a side exited (code {side.wait()}); see its stderr above")
    result: dict[str, Any] = json.loads(answer)
    return result


def run(before: str = "main", rounds: int = 6, requests: int = 1500, rate: float = 515.0,
        window_ms: float = 10.0, batch: int = 150, in_flight: int = 3,
        sleep_ms: float = 0.0) -> Report:
    report = Report(f"The pool's part of the latency at {rate:g} requests/s "
                    "(alternating, no Kafka)",
                    params={"before": before, "after": "working tree", "rounds": rounds,
                            "requests_per_round": requests, "rate": rate,
                            "window_ms": window_ms, "batch": batch, "in_flight": in_flight,
                            "sleep_ms": sleep_ms,
                            "load_average_at_start": os.getloadavg()[0]})
    with tempfile.TemporaryDirectory() as scratch:
        sides = {"before": _start(_export(before, Path(scratch)), sleep_ms),
                 "after": _start(ROOT, sleep_ms)}
        got: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        try:
            for r in range(rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for name in order:
                    got[name].append(_ask(sides[name], f"r{r} {1000 + r * requests} {requests} "
                                          f"{rate} {window_ms} {batch} {in_flight} {r}"))
        finally:
            for side in sides.values():
                if side.stdin is not None:
                    side.stdin.close()
                side.wait()
    for key, label in (("p50", "latency p50"), ("p95", "latency p95"), ("p99", "latency p99"),
                       ("pool_p50", "time in the pool p50"), ("pool_p99", "time in the pool p99")):
        b = [m[key] for m in got["before"]]
        a = [m[key] for m in got["after"]]
        lower = sum(x < y for x, y in zip(a, b, strict=True))
        report.add(f"{label}: before", statistics.median(b), "ms",
                   note=f"median of {rounds} rounds; " + ", ".join(f"{x:.0f}" for x in b))
        report.add(f"{label}: after", statistics.median(a), "ms",
                   note=f"lower in {lower} of {rounds} paired rounds; "
                        + ", ".join(f"{x:.0f}" for x in a))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main",
                        help="git ref (exported) or a directory holding onexgen/ to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=1500, help="requests a round")
    parser.add_argument("--rate", type=float, default=515.0, help="requests a second offered")
    parser.add_argument("--window", type=float, default=10.0,
                        help="ms a batch stays open after its first request while the pool "
                             "has work")
    parser.add_argument("--batch", type=int, default=150, help="requests a batch at most")
    parser.add_argument("--in-flight", type=int, default=3, help="batches in the pool at most")
    parser.add_argument("--sleep-ms", type=float, default=0.0,
                        help="jobs that sleep 0.5-1.5x this long instead of generating: the "
                             "scheduler alone, independent of the machine's load (0: the "
                             "real generation job)")
    args = parser.parse_args()
    report = run(args.before, args.rounds, args.requests, args.rate, args.window, args.batch,
                 args.in_flight, args.sleep_ms)
    print(report.render())
    print(f"JSON: {report.write_json('pool_wait')}")


if __name__ == "__main__":
    main()
