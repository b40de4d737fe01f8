"""What TLS + SASL/SCRAM-SHA-512 + ACLs cost the pipeline: secured against plaintext, one run.

Two stacks at once: the plaintext one ``make bench`` starts (``ONEXGEN_*``) and a secured
one (``infra/stack.sh up`` with ``ONEXGEN_STACK=secure`` under ``.local/secure``: Kafka
SASL_SSL with SCRAM-SHA-512 and the StandardAuthorizer, Postgres TLS only). A real worker
runs on each, the secured one as the least-privilege ``worker`` user with its documented
ACLs. After a warm-up on both, bursts of N requests alternate between them (P, S, P, S,
...): the machine's speed drifts within minutes, so each secured round is set against the
plaintext rounds beside it. The idle worker of the other side stays up (a few percent of
a core) so that neither side pays a start.

Run: ``python -m bench e2e`` (part of it) or ``python -m bench.bench_secure`` alone, with
the plaintext stack's ``ONEXGEN_KAFKA_BOOTSTRAP`` / ``ONEXGEN_DATABASE_URL`` set.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.bench_e2e import percentile, pipeline_phase, worker_budget
from bench.cpu_budget import CpuBudget
from bench.report import Report
from onexgen.settings import Settings, TopicNames
from tests.harness import ROOT, WorkerProcess, scratch_database

LOCAL = ROOT / ".local" / "secure"
START_TIMEOUT_S = 300.0
"""A worker is ready in 20-40 s on a quiet machine; far longer on one shared by many."""
DEPLOYMENT = ("pipeline process", "pool processes", "Kafka broker", "Postgres")
"""What a deployment pays for; the benchmark client (producer and result reader, here on
the same two cores, TLS included on the secured side) is reported apart."""


def _secure_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ONEXGEN_KAFKA_BOOTSTRAP", "ONEXGEN_DATABASE_URL")}
    env.update(ONEXGEN_STACK="secure", ONEXGEN_LOCAL_DIR=str(LOCAL),
               ONEXGEN_KAFKA_LIBS=str(ROOT / ".local" / "kafka" / "libs"))
    return env


def _infra(*args: str) -> None:
    subprocess.run([str(ROOT / "infra" / args[0]), *args[1:]], env=_secure_env(), check=True,
                   timeout=300)


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {k: v.strip("'") for k, sep, v in pairs if sep}


async def run_async(n: int = 1_000, rounds: int = 6, warm_up: int = 4_000) -> Report:
    report = Report("Secured (SASL_SSL + SCRAM-SHA-512 + ACLs, Postgres TLS) vs plaintext",
                    params={"requests_per_round": n, "rounds_each": rounds,
                            "cpus": os.cpu_count()})
    _infra("stack.sh", "up")
    try:
        env = _read_env(LOCAL / "stack.env")
        tag = uuid.uuid4().hex[:6]
        plain_prefix, secure_prefix = f"bp{tag}", f"bs{tag}"
        _infra("kafka.sh", "worker-acls", "worker", secure_prefix, f"{secure_prefix}-app")
        kafka_env = {k: v for k, v in env.items() if k.startswith("ONEXGEN_KAFKA_")}
        worker_env = {**kafka_env, "ONEXGEN_KAFKA_SASL_USERNAME": "worker",
                      "ONEXGEN_KAFKA_SASL_PASSWORD": env["ONEXGEN_STACK_KAFKA_WORKER_PASSWORD"]}
        admin = Settings.model_validate({k.removeprefix("ONEXGEN_").lower(): v
                            for k, v in kafka_env.items()}).kafka_client_kwargs()
        budgets: dict[str, CpuBudget] = {}
        async with scratch_database(os.environ["ONEXGEN_DATABASE_URL"], "bp") as plain_db, \
                scratch_database(env["ONEXGEN_DATABASE_URL"], "bs") as secure_db:
            with tempfile.TemporaryDirectory(prefix="onexgen-bench-secure-") as tmp, \
                    ExitStack() as workers:
                for name, bootstrap, db, prefix, extra in (
                        ("plain", os.environ["ONEXGEN_KAFKA_BOOTSTRAP"], plain_db,
                         plain_prefix, {}),
                        ("secure", env["ONEXGEN_KAFKA_BOOTSTRAP"], secure_db, secure_prefix,
                         worker_env)):
                    worker = WorkerProcess(bootstrap=bootstrap, database_url=db, prefix=prefix,
                                           log_file=Path(tmp) / f"{name}.log", extra_env=extra)
                    workers.callback(worker.stop)
                    worker.start(timeout_s=START_TIMEOUT_S)
                    assert worker.proc is not None
                    budgets[name] = worker_budget(worker.proc.pid,
                                                  LOCAL if name == "secure" else None)
                sides: dict[str, tuple[str, TopicNames, dict[str, Any]]] = {
                    "plaintext": (os.environ["ONEXGEN_KAFKA_BOOTSTRAP"],
                                  TopicNames(plain_prefix), {}),
                    "secured": (env["ONEXGEN_KAFKA_BOOTSTRAP"], TopicNames(secure_prefix),
                                admin),
                }
                offset = 0
                for bootstrap, topics, security in sides.values():
                    await pipeline_phase(bootstrap, topics, tag, offset, warm_up, None, security)
                offset += warm_up
                rates: dict[str, list[float]] = {side: [] for side in sides}
                latencies: dict[str, list[float]] = {side: [] for side in sides}
                cpu: dict[str, dict[str, float]] = {side: {} for side in sides}
                for _ in range(rounds):
                    for side, (bootstrap, topics, security) in sides.items():
                        budget = budgets["plain" if side == "plaintext" else "secure"]
                        budget.start()
                        rate, lat = await pipeline_phase(bootstrap, topics, tag, offset, n, None,
                                                         security)
                        for group, seconds in budget.stop().items():
                            cpu[side][group] = cpu[side].get(group, 0.0) + seconds
                        rates[side].append(rate)
                        latencies[side] += lat
                    offset += n
    finally:
        _infra("stack.sh", "down")
    for side in sides:
        report.add(f"{side}: throughput", statistics.median(rates[side]), "req/s",
                   note="median of rounds " + ", ".join(f"{r:,.0f}" for r in rates[side]))
        report.add(f"{side}: burst latency p50", percentile(latencies[side], 0.5), "ms")
        report.add(f"{side}: burst latency p99", percentile(latencies[side], 0.99), "ms")
    per_request = {side: {group: seconds / (n * rounds) * 1e6
                          for group, seconds in cpu[side].items()} for side in sides}
    deployment = {side: sum(us for group, us in per_request[side].items()
                            if group in DEPLOYMENT) for side in sides}
    for side in sides:
        report.add(f"{side}: deployment CPU per request", deployment[side], "us",
                   note="; ".join(f"{group} {us:,.0f}"
                                  for group, us in per_request[side].items()))
    report.add("deployment CPU per request, plaintext / secured",
               deployment["plaintext"] / deployment["secured"], "ratio",
               note="worker, pool, broker and Postgres; the benchmark client apart")
    ratios = [s / p for s, p in zip(rates["secured"], rates["plaintext"], strict=True)]
    ratio = statistics.median(ratios)
    report.add("secured / plaintext throughput", ratio, "ratio", goal=">= 0.85",
               met=ratio >= 0.85, note="median of the paired rounds' ratios "
               + ", ".join(f"{x:.2f}" for x in ratios))
    return report


def run() -> Report:
    return asyncio.run(run_async())


if __name__ == "__main__":
    r = run()
    print(r.render())
    print(r.write_json("secure"))
