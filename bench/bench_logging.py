"""Cost of one log call: our JSON pipeline against a filtered call and stdlib + json.dumps.

Every active case writes real lines to a real file in a temporary directory
(counted afterwards, so nothing is optimised away) with a correlation id bound
the way the agents bind it. Each case runs ``repeats`` times ``calls`` calls;
the median per-call time is reported (loop overhead included).

Cases:
- ``structlog INFO`` with the default file sink (lines below WARNING written
  together within 0.2 s) and with ``flush_interval_s=0`` (one ``write(2)`` per
  line, like the stdlib ``FileHandler``);
- ``structlog DEBUG`` filtered out at INFO;
- a stdlib logger (faust, aiokafka...) through our root ``JsonHandler``;
- plain stdlib: ``FileHandler`` + a ``json.dumps`` formatter with the id from
  a ``ContextVar``: what a hand-rolled JSON setup costs.

Run: ``python -m bench.bench_logging`` (prints the table, writes
``bench/results/logging.json``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog

from bench.report import Report
from onexgen.observability.context import log_context, new_correlation_id
from onexgen.observability.logging import (
    configure_logging,
    flush_logging,
    get_logger,
    shutdown_logging,
)

GOAL_US = 5.0
_CID: contextvars.ContextVar[str] = contextvars.ContextVar("bench_cid", default="")
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message"}


class _JsonDumpsFormatter(logging.Formatter):
    """The usual hand-rolled stdlib JSON formatter (python-json-logger style)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "correlation_id": _CID.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS:
                payload[key] = value
        return json.dumps(payload, default=str)


def _median_us(call: Callable[[int], object], calls: int, repeats: int) -> float:
    """Median over ``repeats`` runs of the mean time of one ``call(i)``, in microseconds."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for i in range(calls):
            call(i)
        runs.append((time.perf_counter_ns() - start) / calls / 1000)
    return statistics.median(runs)


def _count_lines(directory: Path, pattern: str) -> int:
    return sum(p.read_bytes().count(b"\n") for p in directory.glob(pattern))


def _measure_structlog(directory: Path, calls: int, repeats: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, interval in (("deferred", 0.2), ("through", 0.0)):
        path = directory / f"structlog-{name}.log"
        configure_logging("INFO", path, max_bytes=1 << 40, backup_count=1,
                          flush_interval_s=interval)
        log = get_logger("onexgen.bench")

        def info(i: int, log: Any = log) -> None:
            log.info("request processed", topic="onexgen.requests", partition=3, offset=i,
                     duration_ms=1.25)

        def debug(i: int, log: Any = log) -> None:
            log.debug("request processed", topic="onexgen.requests", partition=3, offset=i,
                      duration_ms=1.25)

        def bridged(i: int) -> None:
            logging.getLogger("aiokafka").info("fetched %d records", i)

        with log_context(correlation_id=new_correlation_id()):
            figures[f"info_{name}"] = _median_us(info, calls, repeats)
            if name == "deferred":
                figures["debug_filtered"] = _median_us(debug, calls, repeats)
                figures["stdlib_bridge"] = _median_us(bridged, calls, repeats)
        flush_logging()
        expected = calls * repeats * (2 if name == "deferred" else 1)
        written = _count_lines(directory, f"structlog-{name}.log*")
        if written != expected:
            raise RuntimeError(f"{name}: {written} lines on disk, {expected} expected")
        last = json.loads(path.read_bytes().splitlines()[-1])
        if not last.get("correlation_id"):
            raise RuntimeError(f"{name}: the correlation id is missing from {last}")
        figures[f"bytes_per_line_{name}"] = path.stat().st_size / expected
    shutdown_logging()
    return figures


def _measure_stdlib_json(directory: Path, calls: int, repeats: int) -> float:
    path = directory / "stdlib-json.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_JsonDumpsFormatter())
    logger = logging.getLogger("bench.stdlib_json")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def info(i: int) -> None:
        logger.info("request processed", extra={"topic": "onexgen.requests", "partition": 3,
                                                 "offset": i, "duration_ms": 1.25})

    token = _CID.set(new_correlation_id())
    try:
        result = _median_us(info, calls, repeats)
    finally:
        _CID.reset(token)
        logger.removeHandler(handler)
        handler.close()
    if _count_lines(directory, "stdlib-json.log") != calls * repeats:
        raise RuntimeError("stdlib json: line count mismatch")
    return result


def run(calls: int = 200_000, repeats: int = 5) -> Report:
    """Measure and report; see the module docstring for the cases."""
    report = Report("logging: cost of one log call (median of repeats)")
    report.params = {"calls": calls, "repeats": repeats, "python": sys.version.split()[0],
                     "structlog": structlog.__version__, "orjson": orjson.__version__}
    with tempfile.TemporaryDirectory(prefix="onexgen-bench-logging-") as tmp:
        f = _measure_structlog(Path(tmp), calls, repeats)
        stdlib_json = _measure_stdlib_json(Path(tmp), calls, repeats)

    info = f["info_deferred"]
    report.add("structlog INFO -> file (default: 0.2 s batched writes)", info, "us/call",
               goal=f"<= {GOAL_US:g} us", met=info <= GOAL_US,
               note=f"{f['bytes_per_line_deferred']:.0f} B/line, correlation id bound")
    report.add("structlog INFO -> file (write(2) per line)", f["info_through"], "us/call",
               goal=f"<= {GOAL_US:g} us", met=f["info_through"] <= GOAL_US,
               note="flush_interval_s=0")
    report.add("structlog DEBUG filtered out at INFO", f["debug_filtered"], "us/call")
    report.add("stdlib logger -> our JsonHandler -> file", f["stdlib_bridge"], "us/call",
               note="faust/aiokafka path")
    report.add("stdlib FileHandler + json.dumps formatter", stdlib_json, "us/call",
               note="comparison, write(2) per line")
    report.add("ratio stdlib+json.dumps / structlog INFO (default)", stdlib_json / info, "x")
    report.add("ratio stdlib+json.dumps / structlog INFO (write per line)",
               stdlib_json / f["info_through"], "x")
    report.add("ratio structlog INFO / filtered DEBUG", info / f["debug_filtered"], "x")
    return report


def main() -> None:
    report = run()
    print(report.render())
    print(f"written: {report.write_json('logging')}")


if __name__ == "__main__":
    main()
