"""The end-to-end benchmark's baselines as processes, and the check that they do the worker's
work: the same requests give byte-identical results.

``running_baseline`` starts ``bench.plain_pipeline`` or ``bench.faust_pipeline`` in a
process of its own (like the worker, so its CPU is measured apart and it inherits the
``ONEXGEN_KAFKA_*`` security settings); ``compare_results`` sends one set of requests,
each with a fixed correlation id (otherwise a fresh one is drawn per pipeline and is part
of the result), through every pipeline and counts the results that differ from the first
pipeline's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.cpu_budget import ROOT
from onexgen.observability.context import CORRELATION_ID_HEADER
from onexgen.settings import TopicNames
from tests.harness import ResultWatcher

START_TIMEOUT_S = 300.0
"""A worker or baseline is ready in seconds on a quiet machine; minutes on a loaded one."""


@contextlib.contextmanager
def running_baseline(module: str, bootstrap: str, prefix: str, database_url: str | None = None,
                     extra: tuple[str, ...] = (), env: dict[str, str] | None = None
                     ) -> Iterator[int]:
    """``python -m <module>`` (a ``bench`` baseline) for the block; its pid. ``env``: more
    variables (``ONEXGEN_KAFKA_*`` for a secured broker) over this process's own."""
    args = [sys.executable, "-m", module, "--bootstrap", bootstrap, "--prefix", prefix, *extra]
    if database_url:
        args += ["--features", "--database-url", database_url]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    try:
        assert proc.stdout is not None
        # "ready" (after a terminal escape from Faust's worker), or EOF if it failed to start
        line = proc.stdout.readline()
        if not line.strip().endswith(b"ready"):
            raise RuntimeError(f"{module} did not start (exit {proc.wait(30)}): see its stderr")
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


async def compare_results(bootstrap: str, sides: dict[str, TopicNames],
                          requests: list[tuple[bytes, bytes]],
                          security: dict[str, Any]) -> dict[str, int]:
    """Send ``requests`` (key, value) to every side; for each side after the first, how
    many of its results are missing or differ in any byte from the first side's."""
    firsts: dict[str, dict[bytes, bytes]] = {}
    for name, topics in sides.items():
        watcher = ResultWatcher(bootstrap, topics.results, keep_values=True, security=security)
        await watcher.start()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **security)
        await producer.start()
        try:
            await asyncio.gather(*[await producer.send(
                topics.requests, value, key=key,
                headers=[(CORRELATION_ID_HEADER, b"same-" + key)]) for key, value in requests])
            await watcher.expect(len(requests), timeout_s=max(120.0, len(requests) / 20))
        finally:
            await producer.stop()
            await watcher.stop()
        firsts[name] = {k: vs[0] for k, vs in watcher.values.items()}
    reference, *others = firsts.values()
    return {name: sum(firsts[name].get(k) != v for k, v in reference.items())
            for name in list(firsts)[1:] if others}
