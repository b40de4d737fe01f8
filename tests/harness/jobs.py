"""Pool jobs that are slow or hang on purpose, for the pool's timeout and back-pressure tests.

They wrap the real :func:`onexgen.generation.job.run_job` and are passed as the
pool's ``job``: a request named ``TestHang...`` never returns (only the pool's
timeout ends it), one named ``TestSlow...`` takes ``SLOW_S`` first. Module-level
functions, so spawned pool processes import them by name.
"""

from __future__ import annotations

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
