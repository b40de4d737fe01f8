"""Worker settings side by side: one worker per variant, bursts in turns, one broker.

This machine's speed drifts by tens of percent within minutes, so two settings
measured in separate runs cannot be told apart by less than that. Here each variant
gets a worker of its own (own topics, same broker and database server), all started
and warmed up together; every round then sends a burst of N distinct requests to each
worker in turn, the order reversed every other round, and records its throughput and
the CPU each process group used per request (``bench.cpu_budget``); with ``--rate``,
each burst is followed by requests offered at that rate (latency from produce to
result). The report gives per variant the medians, and against the first variant the
median of the per-round throughput ratios and how many rounds it was faster.

Run: ``python -m bench.bench_pairs --variant "ONEXGEN_EVENT_LOOP=asyncio
ONEXGEN_BATCH_SIZE=50" --variant "" [--requests 3000] [--rounds 6] [--rate 400
--paced-requests 3000] [--broker-warm-up 30000]`` with the stack's ``ONEXGEN_*``
variables set (not part of the default ``make bench``). A variant is space-separated
``ONEXGEN_NAME=value`` settings for its worker, and optionally ``python=PATH``: the
interpreter its worker and pool run on (a venv's, with onexgen installed; this one by
default), to compare interpreter builds, and ``code=PATH``: a checkout of another commit
(``git worktree add /tmp/old <commit>``) the worker runs from, since ``python -m``
imports from its working directory first, to compare two commits' code; ``""`` is the
defaults. One variant alone gives one worker's figures round by round
(``--broker-warm-up 0`` on a fresh stack shows the broker warming up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_e2e import (
    BROKER_WARM_UP,
    WARM_UP,
    percentile,
    pipeline_phase,
    warm_broker,
    worker_budget,
)
from bench.e2e_sides import START_TIMEOUT_S
from bench.report import Report
from onexgen.settings import TopicNames
from tests.harness import WorkerProcess, running_worker, scratch_database


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one variant's worker runs with: its settings, (None: this one) interpreter and
    (None: this one) checkout of the code."""

    env: dict[str, str]
    python: str | None = None
    code: Path | None = None


def parse_variant(text: str) -> WorkerSpec:
    """``"ONEXGEN_A=1 python=/v/bin/python code=/tmp/old"`` -> its worker; ``ValueError``
    names the bad part."""
    settings: dict[str, str] = {}
    python: str | None = None
    code: Path | None = None
    for part in text.split():
        name, eq, value = part.partition("=")
        if name == "python" and eq:
            if not (os.path.isfile(value) and os.access(value, os.X_OK)):
                raise ValueError(f"{part!r}: no executable there; give a venv's interpreter "
                                 "with onexgen installed, e.g. python=/tmp/venv/bin/python")
            python = value
            continue
        if name == "code" and eq:
            if not (Path(value) / "onexgen" / "__main__.py").is_file():
                raise ValueError(f"{part!r}: no onexgen checkout there; make one with "
                                 "git worktree add /tmp/old <commit>, then code=/tmp/old")
            code = Path(value).resolve()
            continue
        if not eq or not name.startswith("ONEXGEN_") or not value:
            raise ValueError(f"{part!r} is not a setting: write ONEXGEN_NAME=value, "
                             "e.g. ONEXGEN_BATCH_SIZE=50, python=PATH or code=PATH")
        settings[name] = value
    return WorkerSpec(settings, python, code)


SPACING = 84 * 100_000
"""Each variant's requests start this far apart: no two workers see the same request
(a cache shared through ``ONEXGEN_REDIS_URL`` would answer the second), and a multiple
of 84 keeps the mix of node types, mixin sets and operation names the same."""


@dataclass(slots=True)
class Variant:
    label: str
    spec: WorkerSpec
    prefix: str
    base: int
    worker: WorkerProcess | None = None
    throughputs: list[float] = field(default_factory=list)
    cpu_us: list[dict[str, float]] = field(default_factory=list)
    faults: list[dict[str, float]] = field(default_factory=list)
    """Minor page faults per request of each process group, round by round."""
    tails: list[tuple[float, float, float]] = field(default_factory=list)
    """(p50, p95, p99) in ms of each round's paced run."""


@dataclass(frozen=True, slots=True)
class Paced:
    rate: float
    requests: int


async def run_async(variants: list[str], requests: int, rounds: int,
                    paced: Paced | None = None, broker_warm_up: int = BROKER_WARM_UP) -> Report:
    bootstrap = os.environ["ONEXGEN_KAFKA_BOOTSTRAP"]
    tag = uuid.uuid4().hex[:6]
    runs = [Variant(text or "defaults", parse_variant(text), f"pair{tag}{i}", i * SPACING)
            for i, text in enumerate(variants)]
    report = Report("Worker settings side by side (alternating bursts, one broker)",
                    params={"variants": [v.label for v in runs], "requests": requests,
                            "rounds": rounds, "rate": paced.rate if paced else None,
                            "paced_requests": paced.requests if paced else 0,
                            "broker_warm_up": broker_warm_up})
    async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"]) as db_url:
        if broker_warm_up:
            await warm_broker(bootstrap, f"pair{tag}", tag, broker_warm_up)
        with contextlib.ExitStack() as stack:
            for v in runs:
                v.worker = stack.enter_context(running_worker(
                    bootstrap=bootstrap, database_url=db_url, prefix=v.prefix,
                    extra_env=v.spec.env, python=v.spec.python, cwd=v.spec.code,
                    start_timeout_s=START_TIMEOUT_S))
            for v in runs:
                await pipeline_phase(bootstrap, TopicNames(v.prefix), tag, v.base, WARM_UP,
                                     None)
            offset = WARM_UP
            for r in range(rounds):
                for v in runs if r % 2 == 0 else runs[::-1]:
                    await _burst(v, bootstrap, tag, offset, requests)
                    if paced:
                        await _paced(v, bootstrap, tag, offset + requests, paced)
                offset += requests + (paced.requests if paced else 0)
    _summarise(report, runs)
    return report


@dataclass(slots=True)
class _Phase:
    """One run through a variant's worker and what it cost, per request."""

    throughput: float
    latencies: list[float]
    cpu_us: dict[str, float]
    faults: dict[str, float]
    cores: float

    def cpu_text(self) -> str:
        groups = ", ".join(f"{k} {u:,.0f}" for k, u in self.cpu_us.items())
        return f"{sum(self.cpu_us.values()):,.0f} µs/request in all ({groups})"


async def _phase(v: Variant, bootstrap: str, tag: str, offset: int, n: int,
                 rate: float | None) -> _Phase:
    """``pipeline_phase`` through ``v``'s worker, with the CPU and page faults it took."""
    assert v.worker is not None and v.worker.proc is not None
    budget = worker_budget(v.worker.proc.pid)
    budget.start()
    started = time.perf_counter()
    throughput, latencies = await pipeline_phase(bootstrap, TopicNames(v.prefix), tag,
                                                 v.base + offset, n, rate)
    used = budget.stop()
    return _Phase(throughput, latencies, {k: s / n * 1e6 for k, s in used.items()},
                  {k: f / n for k, f in budget.faults.items()},
                  sum(used.values()) / (time.perf_counter() - started))


async def _burst(v: Variant, bootstrap: str, tag: str, offset: int, n: int) -> None:
    phase = await _phase(v, bootstrap, tag, offset, n, None)
    v.throughputs.append(phase.throughput)
    v.cpu_us.append(phase.cpu_us)
    v.faults.append(phase.faults)
    print(f"{v.label}: {phase.throughput:,.0f} req/s, {phase.cpu_text()}, "
          f"{phase.cores:.2f} cores busy, {sum(phase.faults.values()):,.1f} page "
          "faults/request", flush=True)


async def _paced(v: Variant, bootstrap: str, tag: str, offset: int, paced: Paced) -> None:
    phase = await _phase(v, bootstrap, tag, offset, paced.requests, paced.rate)
    latencies = phase.latencies
    v.tails.append((percentile(latencies, 0.5), percentile(latencies, 0.95),
                    percentile(latencies, 0.99)))
    print(f"{v.label}: at {paced.rate:g}/s p50/p95/p99 "
          + " / ".join(f"{x:,.0f}" for x in v.tails[-1]) + f" ms, {phase.cpu_text()}",
          flush=True)


def _summarise(report: Report, runs: list[Variant]) -> None:
    first = runs[0]
    for v in runs:
        report.add(f"{v.label}: throughput", statistics.median(v.throughputs), "req/s",
                   note="median of " + ", ".join(f"{t:,.0f}" for t in v.throughputs))
        groups = {k: statistics.median(c[k] for c in v.cpu_us) for k in v.cpu_us[0]}
        report.add(f"{v.label}: CPU per request in all",
                   statistics.median(sum(c.values()) for c in v.cpu_us), "us",
                   note="; ".join(f"{k} {u:,.0f}" for k, u in groups.items()))
        faults = {k: statistics.median(f[k] for f in v.faults) for k in v.faults[0]}
        report.add(f"{v.label}: page faults per request", sum(faults.values()), "faults",
                   note="; ".join(f"{k} {f:,.1f}" for k, f in faults.items()))
        for q, name in enumerate(("p50", "p95", "p99")):
            if v.tails:
                report.add(f"{v.label}: latency {name} at the paced rate",
                           statistics.median(t[q] for t in v.tails), "ms",
                           note="median of " + ", ".join(f"{t[q]:,.0f}" for t in v.tails))
        if v is not first:
            ratios = [b / a for a, b in zip(first.throughputs, v.throughputs, strict=True)]
            report.add(f"{v.label} / {first.label}: throughput", statistics.median(ratios),
                       "ratio", note=f"faster in {sum(x > 1 for x in ratios)} of "
                       f"{len(ratios)} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_pairs")
    parser.add_argument("--variant", action="append", required=True,
                        help='settings of one worker, e.g. "ONEXGEN_BATCH_SIZE=50", and '
                        'optionally its interpreter, "python=PATH", and a checkout of other '
                        'code to run, "code=PATH"; "" is the defaults; once for one '
                        'worker\'s figures round by round')
    parser.add_argument("--requests", type=int, default=3000, help="requests per burst")
    parser.add_argument("--rounds", type=int, default=6, help="bursts per variant")
    parser.add_argument("--rate", type=float, default=None,
                        help="after each burst, offer requests at this rate (req/s)")
    parser.add_argument("--paced-requests", type=int, default=3000,
                        help="requests per paced run (with --rate)")
    parser.add_argument("--broker-warm-up", type=int, default=BROKER_WARM_UP,
                        help="requests relayed through the broker first (0: none, to watch "
                        "a fresh broker warm up)")
    args = parser.parse_args()
    for text in args.variant:
        try:
            parse_variant(text)
        except ValueError as exc:
            parser.error(f"--variant {text!r}: {exc}")
    if min(args.requests, args.rounds, args.paced_requests) < 1:
        parser.error("--requests, --rounds and --paced-requests need a whole number above 0")
    if args.broker_warm_up < 0:
        parser.error("--broker-warm-up needs 0 or more requests")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate needs a rate above 0, e.g. 400")
    paced = Paced(args.rate, args.paced_requests) if args.rate else None
    report = asyncio.run(run_async(args.variant, args.requests, args.rounds, paced,
                                   args.broker_warm_up))
    print(report.render())
    print(report.write_json("pairs"))


if __name__ == "__main__":
    main()
