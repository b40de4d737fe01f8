"""``python -m bench [NAME...]`` (``make bench``): run the benchmarks, print tables, write JSON.

Each benchmark runs against the real services that ``make bench`` starts
(``ONEXGEN_*`` variables); results go to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable

from bench.report import Report


def _pg_writes() -> Report:
    from bench.bench_pg_writes import run

    return asyncio.run(run(os.environ["ONEXGEN_DATABASE_URL"]))


def _logging() -> Report:
    from bench.bench_logging import run

    return run()


def _patterns() -> Report:
    from bench.bench_patterns import run

    return run()


def _alerts() -> Report:
    from bench.bench_alerts import run

    return run()


def _codegen() -> Report:
    from bench.bench_codegen import run

    return run()


def _mixins() -> Report:
    from bench.bench_mixins import run

    return run()


def _tracing() -> Report:
    from bench.bench_tracing import run

    return run()


def _event_loop() -> Report:
    from bench.bench_event_loop import run

    return run()


def _event_path() -> Report:
    from bench.bench_event_path import run

    return run()


def _handoff() -> Report:
    from bench.bench_handoff import run

    return run()


def _e2e() -> Report:
    from bench.bench_e2e import run

    return run()


BENCHMARKS: dict[str, Callable[[], Report]] = {
    "logging": _logging,
    "pg_writes": _pg_writes,
    "codegen": _codegen,
    "patterns": _patterns,
    "mixins": _mixins,
    "alerts": _alerts,
    "tracing": _tracing,
    "event_loop": _event_loop,
    "event_path": _event_path,
    "handoff": _handoff,
    "e2e": _e2e,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    if "pg_writes" in names and not os.environ.get("ONEXGEN_DATABASE_URL"):
        print("python -m bench: ONEXGEN_DATABASE_URL is not set; run `make bench`, which starts "
              "the stack", file=sys.stderr)
        return 2
    for name in names:
        report = BENCHMARKS[name]()
        print(report.render(), flush=True)
        print(f"-> {report.write_json(name)}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
