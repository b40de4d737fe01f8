"""Detection cost before and after a change, in one run: ``python -m bench.pattern_cost``.

Why a separate script: ``python -m bench patterns`` times two models on the same code,
so a change to the features (issue 22's text vector) costs both sides alike and its
ratio cannot show it. Here the code itself differs: ``--before REF`` (default ``main``)
is exported with ``git archive`` and each side runs in its own process, alternately,
``--rounds`` times; each process loads its shipped default detector and reports the
best of five passes over ``data/patterns/test.jsonl`` x10 (the set issue 22's 137 µs
was measured on; ``--data``: another labelled file), detected in one batch (``--batch``:
smaller ones): CPU time (``time.process_time``, less sensitive to the other processes on
a shared machine) and wall time per request. BLAS is held to one thread, as in a pool
process: with more, its threads' spinning counts in the CPU time, not in the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from bench.report import Report

ROOT = Path(__file__).resolve().parents[1]
GOAL_FACTOR = 2.0
CHILD = """
import json, os, sys, time
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")  # as in a pool process (generation.engine)
from pathlib import Path
from onexgen.learning.patterns.dataset import load_labeled
from onexgen.learning.patterns.training import default_detector
rows = load_labeled(Path(sys.argv[1]))
requests = [r.request for r in rows] * 10
batch_size = int(sys.argv[2]) or len(requests)
import onexgen
assert onexgen.__file__.startswith(sys.argv[3]), (onexgen.__file__, sys.argv[3])
detector = default_detector()
detector.detect_many(requests[:batch_size])
cpu = wall = float("inf")
for _ in range(5):
    c, w = time.process_time(), time.perf_counter()
    for start in range(0, len(requests), batch_size):
        detector.detect_many(requests[start:start + batch_size])
    cpu = min(cpu, (time.process_time() - c) / len(requests))
    wall = min(wall, (time.perf_counter() - w) / len(requests))
print(json.dumps({"cpu_us": cpu * 1e6, "wall_us": wall * 1e6}))
"""


def _export(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref, "onexgen"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)  # noqa: S202 (our own repository's git archive, not foreign input)
    return into


DEFAULT_DATA = ROOT / "data" / "patterns" / "test.jsonl"


def _measure(tree: Path, batch: int, data: Path = DEFAULT_DATA) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(data), str(batch), str(tree)],
                         cwd=tree, env=env, check=False, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the {tree} side failed: {out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(before: str = "main", rounds: int = 5, batch: int = 0,
        data: Path = DEFAULT_DATA) -> Report:
    report = Report("Pattern detection cost, before and after (alternating processes)",
                    params={"before": before, "after": "working tree", "rounds": rounds,
                            "batch": batch, "data": str(data)})
    sides: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as scratch:
        old = _export(before, Path(scratch))
        for _ in range(rounds):
            sides["before"].append(_measure(old, batch, data))
            sides["after"].append(_measure(ROOT, batch, data))
    for key, unit in (("cpu_us", "CPU"), ("wall_us", "wall")):
        best = {side: min(m[key] for m in runs) for side, runs in sides.items()}
        spread = {side: f"{min(m[key] for m in runs):.0f}-{max(m[key] for m in runs):.0f}"
                  for side, runs in sides.items()}
        report.add(f"detection per request, {unit}, before ({before})", best["before"], "us",
                   note=f"best of {rounds} rounds; range {spread['before']}")
        ratio = best["after"] / best["before"]
        report.add(f"detection per request, {unit}, after", best["after"], "us",
                   goal=f"<= {GOAL_FACTOR:g}x before", met=ratio <= GOAL_FACTOR,
                   note=f"{ratio:.2f}x; range {spread['after']}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main", help="git ref of the code to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=0,
                        help="requests per detect_many call (0: all at once, as the 137 µs)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="labelled requests, x10 (default: the issue-5 test set; "
                             "data/patterns/corpus/validation.jsonl: longer, more clauses)")
    args = parser.parse_args()
    report = run(args.before, args.rounds, args.batch, args.data.resolve())
    print(report.render())
    print(f"JSON: {report.write_json('pattern_cost')}")


if __name__ == "__main__":
    main()
