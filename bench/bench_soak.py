"""Memory under sustained load: a real worker fed at a steady rate, RSS sampled throughout.

The worker and each of its pool processes are sampled every few seconds; the
first ``warmup_s`` seconds are excluded (caches and models fill up there), and
growth is the last minute's mean RSS against the first minute after warm-up.

Run: ``python -m bench.bench_soak [--minutes 10] [--rate 400]`` with the stack's
``ONEXGEN_*`` variables set (``make bench`` sets them; the soak is not part of the
default ``make bench`` because it takes as long as it is asked to).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.bench_e2e import env_security, request_bytes
from bench.cpu_budget import children_of
from bench.report import Report
from onexgen.settings import TopicNames
from tests.harness import ResultWatcher, running_worker, scratch_database


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def feed(bootstrap: str, topic: str, tag: str, rate: float, seconds: float) -> int:
    """Produce requests at ``rate`` per second for ``seconds``; returns how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, **env_security())
    await producer.start()
    sent = 0
    t0 = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - t0) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                await producer.send(topic, request_bytes(tag, sent), key=f"{tag}-{sent}".encode())
                sent += 1
            await asyncio.sleep(0.01)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def run_async(minutes: float = 10.0, rate: float = 400.0, warmup_s: float = 60.0) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        return await _soak(bootstrap, db_url, minutes, rate, warmup_s)


async def _soak(bootstrap: str, db_url: str, minutes: float, rate: float,
                warmup_s: float) -> Report:
    tag = uuid.uuid4().hex[:6]
    prefix = f"soak{tag}"
    seconds = minutes * 60
    samples: dict[str, list[tuple[float, float]]] = {}
    with running_worker(bootstrap=bootstrap, database_url=db_url, prefix=prefix) as worker:
        assert worker.proc is not None
        pid = worker.proc.pid
        watcher = ResultWatcher(bootstrap, TopicNames(prefix).results)
        await watcher.start()
        feeder = asyncio.create_task(feed(bootstrap, TopicNames(prefix).requests, tag, rate,
                                          seconds))
        t0 = time.monotonic()
        try:
            while not feeder.done():
                now = time.monotonic() - t0
                procs = {"worker": pid} | {f"pool process {i + 1}": c
                                           for i, c in enumerate(children_of(pid))}
                for name, p in procs.items():
                    try:
                        samples.setdefault(name, []).append((now, rss_mb(p)))
                    except FileNotFoundError:
                        continue
                await asyncio.sleep(5)
            sent = await feeder
            await watcher.expect(sent, timeout_s=120)
            answered = len(watcher.seen)
        finally:
            await watcher.stop()

    report = Report(f"Soak: {minutes:g} min at {rate:g} requests/s",
                    params={"minutes": minutes, "rate": rate, "warmup_s": warmup_s})
    report.add("requests sent", sent, "req")
    report.add("results received", answered, "req", goal="= sent", met=answered == sent)
    for name, points in samples.items():
        after = [(t, mb) for t, mb in points if t >= warmup_s]
        if len(after) < 4:
            continue
        first = statistics.fmean(mb for t, mb in after if t < warmup_s + 60)
        last = statistics.fmean(mb for t, mb in after if t >= after[-1][0] - 60)
        growth = (last - first) / first
        report.add(f"{name} RSS after warm-up", first, "MiB")
        report.add(f"{name} RSS at the end", last, "MiB", goal="<= 400", met=last <= 400)
        report.add(f"{name} growth", growth * 100, "%", goal="<= 10", met=growth <= 0.10)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=400.0, help="requests per second")
    args = parser.parse_args()
    report = asyncio.run(run_async(args.minutes, args.rate))
    print(report.render())
    print(report.write_json("soak"))


if __name__ == "__main__":
    main()
