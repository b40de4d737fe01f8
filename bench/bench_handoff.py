"""The pool hand-off alone: the parent process's CPU a request, onexgen's pool against
``ProcessPoolExecutor``, no Kafka (issue 25's "pool hand-off" row).

Both run the same generation on the same distinct requests, in batches of 50 with
three in flight (the worker's defaults), split into one chunk per process; the
parent's CPU (every thread: the executor's management thread, the event loop, which
also runs onexgen's scheduler) is read with ``time.process_time`` around each round. Rounds
alternate, the pools' order swapped every round. No output cache on either side.

Run: ``python -m bench handoff``.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor

from bench.baseline import _init, generate
from bench.bench_e2e import WORKER_ENGINE, request_bytes
from bench.report import Report
from onexgen.generation.pool import GenerationPool

Items = list[tuple[bytes | None, str]]


async def _drive(run: Callable[[Items], Awaitable[object]], items: Items,
                 batch: int = 50, in_flight: int = 3) -> tuple[float, float]:
    """(parent CPU µs a request, requests/s) for ``items`` through ``run``."""
    gate = asyncio.Semaphore(in_flight)

    async def one(part: Items) -> None:
        async with gate:
            await run(part)

    cpu, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(items[s:s + batch]) for s in range(0, len(items), batch)))
    return ((time.process_time() - cpu) / len(items) * 1e6,
            len(items) / (time.perf_counter() - t0))


async def run_async(per_round: int = 600, rounds: int = 4) -> Report:
    loop = asyncio.get_running_loop()
    pool = GenerationPool(2, config=WORKER_ENGINE, shared_cache=False)
    await pool.start()
    executor = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init, initargs=(WORKER_ENGINE,))

    async def plain(part: Items) -> object:
        size = math.ceil(len(part) / 2)
        return await asyncio.gather(*(loop.run_in_executor(executor, generate,
                                                           part[s:s + size])
                                      for s in range(0, len(part), size)))

    sides: dict[str, Callable[[Items], Awaitable[object]]] = {
        "onexgen GenerationPool": pool.run, "ProcessPoolExecutor": plain}
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    try:
        warm: Items = [(request_bytes("warm", i), "w") for i in range(100)]
        for run in sides.values():
            await _drive(run, warm)
        offset = 0
        for r in range(rounds):
            for name in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
                items: Items = [(request_bytes("h", i), "c")
                                for i in range(offset, offset + per_round)]
                offset += per_round
                found[name].append(await _drive(sides[name], items))
    finally:
        await pool.stop()
        executor.shutdown()
    report = Report("Pool hand-off: parent CPU a request, no Kafka",
                    params={"requests_per_round": per_round, "rounds": rounds})
    for name, got in found.items():
        report.add(f"{name}: parent CPU per request", statistics.median(u for u, _ in got),
                   "us", note="median of rounds " + ", ".join(f"{u:,.0f}" for u, _ in got))
        report.add(f"{name}: throughput", statistics.median(t for _, t in got), "req/s",
                   note="median of rounds " + ", ".join(f"{t:,.0f}" for _, t in got))
    a, b = (found[n] for n in sides)
    ratios = [x[0] / y[0] for x, y in zip(a, b, strict=True)]
    report.add("onexgen / ProcessPoolExecutor, parent CPU", statistics.median(ratios), "ratio",
               note="median of per-round ratios " + ", ".join(f"{x:.2f}" for x in ratios))
    return report


def run() -> Report:
    return asyncio.run(run_async())


if __name__ == "__main__":
    r = run()
    print(r.render())
    print(r.write_json("handoff"))
