"""Pool jobs that are slow or hang on purpose, for the pool's timeout and back-pressure tests.

They wrap the real :func:`onexgen.generation.job.run_job` and are passed as the
pool's ``job``: a request named ``TestHang...`` never returns (only the pool's
timeout ends it), one named ``TestSlow...`` takes ``SLOW_S`` first. Module-level
functions, so spawned pool processes import them by name.
"""

from __future__ import annotations

import os
import time

import orjson

from onexgen.generation.job import JobOutcome, run_job

SLOW_S = 0.2


def run_job_with_delays(raw: bytes | None, correlation_id: str) -> JobOutcome:
    name = ""
    try:
        data = orjson.loads(raw or b"null")
        name = str(data.get("name", "")) if isinstance(data, dict) else ""
    except orjson.JSONDecodeError:
        pass
    if name.startswith("TestHang"):
        while True:
            time.sleep(3600)
    if name.startswith("TestSlow"):
        time.sleep(SLOW_S)
    return run_job(raw, correlation_id)


def gated_pid(kind: str, gate: str) -> int:
    """For ``ProcessPool`` tests: ``"hang"`` never returns; ``"gate"`` waits until the file
    ``gate`` exists (the test opens it), then, like ``"now"``, returns this process's id."""
    if kind == "hang":
        while True:
            time.sleep(3600)
    if kind == "gate":
        deadline = time.monotonic() + 60
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.005)
    return os.getpid()


def open_gate(gate: str) -> None:
    """Let every ``"gate"`` job waiting on ``gate`` return (a file, created here)."""
    with open(gate, "a"):
        pass


def failing_start() -> None:
    """A pool initializer that fails, as a process without its templates would."""
    raise RuntimeError("no templates at /nowhere; set ONEXGEN_TEMPLATE_DIR")
