"""Where a pipeline process spends its CPU, by component, from a sampled profile (py-spy).

``Profiler(pid)`` runs ``py-spy record`` on a process (non-blocking, only the thread
holding the GIL sampled, so the samples approximate its Python CPU time) for as long as
the block runs; the
stacks are then sorted into the components the issue 25 breakdown names, by the
innermost frame that belongs to one (a Kafka client call made from our batch code
counts as Kafka), and each component's share of the samples is applied to the
process's measured CPU per request.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import TracebackType

COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Kafka produce", ("aiokafka/producer", "streams/publisher.py", "aiokafka/record")),
    ("Postgres row sinks", ("asyncpg", "generation/persist.py", "onexgen/storage")),
    ("output cache", ("shared_cache.py", "aiocache", "output_cache.py")),
    ("metrics, monitor, logs", ("prometheus_client", "onexgen/observability", "structlog",
                                "logging/__init__.py")),
    ("pool hand-off", ("onexgen/procpool/", "multiprocessing", "concurrent/futures",
                       "generation/pool.py", "pickle", "_pickle")),
    ("batch assembly", ("generation/batch.py", "agents/codegen.py", "dead_letter.py",
                        "streams/batching.py", "plain_pipeline.py",
                        "bench/baseline.py", "faust_pipeline.py")),
    ("Kafka consume (client, Faust consumer, conductor, streams, acks)",
     ("aiokafka", "faust/", "mode/", "streams/faust_internals", "streams/consumer.py",
      "kafka/")),
)
OTHER = "event loop and the rest"
_ENTRIES = ("asyncio/runners.py", "asyncio/base_events.py", "asyncio/events.py",
            "mode/worker.py", "threading.py")
"""Frames that start a loop or a thread: what runs below them is a callback or a task."""
_SENDER = "aiokafka/producer/"
"""The producer's own frames: whatever the client does below them (encoding the request,
``aiokafka/conn.py`` writing it to the socket) is producing, though its innermost frames
are the client's, which consuming shares."""


def classify(stack: list[str]) -> str:
    """The component of one sampled stack (frames outermost first): that of the innermost
    frame belonging to one, looking only below the last loop or thread entry (the frames
    above it are on every stack); none below it is the event loop's own work (uvloop runs
    in C, so its time shows as a stack ending at the entry). A stack through the producer
    is produce (see ``_SENDER``)."""
    entry = max((i for i, f in enumerate(stack) if any(e in f for e in _ENTRIES)), default=-1)
    if any(_SENDER in frame for frame in stack[entry + 1:]):
        return "Kafka produce"
    for frame in reversed(stack[entry + 1:]):
        for name, needles in COMPONENTS:
            if any(n in frame for n in needles):
                return name
    return OTHER


def shares(raw: str) -> tuple[dict[str, float], int]:
    """Each component's share of the samples in py-spy's raw (collapsed) output, and the
    number of samples."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[classify(stack.split(";"))] += int(n)
    total = sum(counts.values())
    return ({k: v / total for k, v in counts.items()} if total else {}), total


class Profiler:
    """``with Profiler(pid) as p: ...``; then ``p.shares`` (empty when py-spy is missing)."""

    def __init__(self, pid: int, rate: int = 200) -> None:
        self.pid, self.rate = pid, rate
        self.shares: dict[str, float] = {}
        self.samples = 0
        self.error = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="onexgen-profile-"))

    def __enter__(self) -> Profiler:
        # The venv's own copy first: benchmarks run as .venv/bin/python, venv not activated.
        beside = Path(sys.executable).parent / "py-spy"
        spy = str(beside) if beside.is_file() else shutil.which("py-spy")
        if spy is None:
            self.error = "py-spy is not installed (pip install py-spy; it is a dev extra)"
            return self
        # --gil: samples only the thread holding the GIL. Without it, --nonblocking cannot
        # ask whether a thread runs and counted the loop's idle epoll_wait and the log
        # flusher's wait as work (a third of the samples; py-spy issue 480). Work done
        # with the GIL released (checksums, socket writes in C) is not seen.
        self._proc = subprocess.Popen(
            [spy, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--nonblocking",
             "--gil",
             "--format", "raw", "--output", str(self._dir / "raw.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGINT)  # py-spy writes its output and exits
        try:
            _, err = self._proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        out = self._dir / "raw.txt"
        if out.exists():
            self.shares, self.samples = shares(out.read_text())
        if not self.samples:
            self.error = f"py-spy recorded nothing: {err.decode(errors='replace')[-300:]}"
        shutil.rmtree(self._dir, ignore_errors=True)
