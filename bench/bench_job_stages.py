"""The generation job's CPU a request, stage by stage, two codes side by side:
``python -m bench.bench_job_stages --before REF``.

Why: the pool processes spend ~75% of the machine's CPU a request in the end-to-end
bench, and a change of it between two commits (session 15: +130 µs, 51 of them pattern
detection on another request set) must be split by stage on the e2e bench's own requests
(``bench_e2e.request_bytes``) to say where it went. Each side is one long-lived process
running a pool process's work exactly as the worker's pool does it (engine configured as
``onexgen worker`` configures it, ``prepare_chunk`` then ``run_job`` a request, the chunk's
answers pickled as the pipe sends them), alternately, round by round, on the same fresh
(never cached) requests; ``--before`` is exported with ``git archive`` (or a directory).
Stages are timed by wrapping the functions the job calls (thread CPU time; nested stages
are subtracted from the stage around them, so the rows add up to the total); the row
"(worker process) answers unpickled" is the other end of the pipe, outside the total.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.report import Report

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, pickle, sys, time
from collections import defaultdict
import onexgen
assert onexgen.__file__.startswith(sys.argv[1]), (onexgen.__file__, sys.argv[1])
from onexgen.settings import Settings
import onexgen.generation.engine as eng
import onexgen.generation.job as job
import onexgen.generation.pool as pool
from onexgen.models.wire import GenerationResult
from onexgen.generation.output_cache import CachedResult

REQUEST_BYTES = sys.argv[2]
exec(REQUEST_BYTES)  # defines request_bytes(tag, i), the e2e bench's requests

spent = defaultdict(int)
stack = []
clock = time.thread_time_ns

def timed(label, f):
    def wrapper(*args, **kwargs):
        stack.append(0)
        start = clock()
        try:
            return f(*args, **kwargs)
        finally:
            total = clock() - start
            inner = stack.pop()
            spent[label] += total - inner
            if stack:
                stack[-1] += total
    return wrapper

def wrap(owner, name, label):
    setattr(owner, name, timed(label, getattr(owner, name)))

engine = eng.configure(eng.engine_config(Settings()))
wrap(job, "decode_ahead", "decode and fingerprint (chunk)")
wrap(engine, "prime_patterns", "detect patterns (chunk, vectorised)")
wrap(engine._patterns, "detect", "detected patterns looked up")
wrap(eng, "suggested_mixins", "suggested mixins")
wrap(engine.renderer, "render", "render (templates, file digests)")
wrap(eng, "validate_syntax", "validate (compile, YAML, contract)")
wrap(engine.compositions, "check", "composition check (cached)")
wrap(engine._gate, "assess", "mixin gate")
wrap(GenerationResult, "model_dump_json", "result serialised (model_dump_json)")
wrap(CachedResult, "payload_for", "request ids put in")
wrap(engine.outputs, "put", "output cache (get, put)")
wrap(engine.outputs, "get", "output cache (get, put)")
wrap(eng.Engine, "generate", "generate: models built, the rest")
wrap(eng.Engine, "produce", "produce: keys, cache entry")
wrap(job, "run_job", "run_job: outcome built")
wrap(pickle, "dumps", "answers pickled (as the pipe sends them)")

for i in range(60):  # warm: templates, detector, composition cache
    pool.prepare_chunk([(request_bytes("warm", i), "w")])
    job.run_job(request_bytes("warm", i), "w")
for line in sys.stdin:
    tag, start, n, chunk = line.split()
    start, n, chunk = int(start), int(n), int(chunk)
    spent.clear()
    items = [(request_bytes(tag, i), f"cid-{i}") for i in range(start, start + n)]
    cpu = unpickled = 0
    for at in range(0, n, chunk):
        part = items[at:at + chunk]
        started = time.process_time_ns()
        pool.prepare_chunk(part)
        answers = [(True, job.run_job(raw, cid)) for raw, cid in part]
        message = pickle.dumps(("answers", answers), protocol=pickle.HIGHEST_PROTOCOL)
        cpu += time.process_time_ns() - started
        started = clock()  # the worker process's side, not counted in the total
        pickle.loads(message)
        unpickled += clock() - started
    spent["(worker process) answers unpickled"] = unpickled
    stages = {k: v / n / 1000 for k, v in spent.items()}
    print(json.dumps({"total": cpu / n / 1000, "stages": stages}), flush=True)
"""


def _request_bytes_source() -> str:
    """``bench_e2e.request_bytes`` and what it needs, as source both sides run."""
    import inspect

    from bench import bench_e2e
    return ("import orjson\nMIXIN_SETS = " + repr(bench_e2e.MIXIN_SETS) + "\n"
            + inspect.getsource(bench_e2e.request_bytes))


def _export(ref: str, into: Path) -> Path:
    if Path(ref).is_dir():
        return Path(ref).resolve()
    archive = subprocess.run(["git", "archive", ref, "onexgen"], cwd=ROOT,
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)  # noqa: S202 (our own repository's git archive, not foreign input)
    return into


def _start(tree: Path) -> subprocess.Popen[str]:
    # BLAS held to one thread on both sides, as a pool process holds it (generation.engine)
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           **os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(tree), _request_bytes_source()],
                            cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def _ask(side: subprocess.Popen[str], tag: str, start: int, n: int,
         chunk: int) -> dict[str, Any]:
    stdin, stdout = side.stdin, side.stdout
    assert stdin is not None and stdout is not None
    stdin.write(f"{tag} {start} {n} {chunk}\n")
    stdin.flush()
    line = stdout.readline()
    if not line:
        raise RuntimeError(f"a side exited (code {side.wait()}); see its stderr above")
    answer: dict[str, Any] = json.loads(line)
    return answer


def run(before: str = "main", rounds: int = 6, requests: int = 600, chunk: int = 75) -> Report:
    report = Report("Generation job CPU a request by stage, before and after (alternating)",
                    params={"before": before, "after": "working tree", "rounds": rounds,
                            "requests_per_round": requests, "chunk": chunk,
                            "load_average_at_start": os.getloadavg()[0]})
    with tempfile.TemporaryDirectory() as scratch:
        sides = {"before": _start(_export(before, Path(scratch))), "after": _start(ROOT)}
        got: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        try:
            for r in range(rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for name in order:
                    got[name].append(_ask(sides[name], f"r{r}", 1000 + r * requests, requests,
                                          chunk))
        finally:
            for side in sides.values():
                if side.stdin is not None:
                    side.stdin.close()
                side.wait()
    stages = sorted({s for runs in got.values() for m in runs for s in m["stages"]})
    rows = [("total (process CPU)", "total")] + [(s, s) for s in stages]
    for label, key in rows:
        def values(side: str, key: str = key) -> list[float]:
            return [m["total"] if key == "total" else m["stages"].get(key, 0.0)
                    for m in got[side]]
        b, a = values("before"), values("after")
        lower = sum(x < y for x, y in zip(a, b, strict=True))
        report.add(f"{label}: before", statistics.median(b), "us",
                   note=f"median of {rounds} rounds; {min(b):.1f}-{max(b):.1f}")
        report.add(f"{label}: after", statistics.median(a), "us",
                   note=f"after - before {statistics.median(a) - statistics.median(b):+.1f}; "
                        f"lower in {lower} of {rounds} paired rounds")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="main",
                        help="git ref (exported) or a directory holding onexgen/ to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=600, help="distinct requests a round")
    parser.add_argument("--chunk", type=int, default=75,
                        help="requests a chunk (the worker's batch of 150 over 2 processes)")
    args = parser.parse_args()
    report = run(args.before, args.rounds, args.requests, args.chunk)
    print(report.render())
    print(f"JSON: {report.write_json('job_stages')}")


if __name__ == "__main__":
    main()
