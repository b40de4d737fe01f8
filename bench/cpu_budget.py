"""Where the CPU goes during a benchmark phase: seconds per process group, from /proc.

Also the process tree the benchmarks need (a worker's pool processes, Postgres backends).

The end-to-end benchmark shares two cores between the worker's event loop, its
pool processes, the broker, Postgres and the benchmark's own client; this tells
how much each took per request, which is what bounds the throughput.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from onexgen.settings import REPO_ROOT

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (None when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def minor_faults(pid: int) -> int:
    """Page faults one process has taken so far that needed no disk (0 when it is gone):
    each is a page handed out afresh by the kernel, in kernel time."""
    fields = _stat(pid)
    return int(fields[7]) if fields else 0


def _children() -> dict[int, list[int]]:
    """Parent pid -> its children's pids, for every process now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(entry.name)
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def children_of(pid: int) -> list[int]:
    """Direct children that generate (not multiprocessing's resource tracker)."""
    found = []
    for child in _children().get(pid, []):
        try:
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Postgres backends, pool processes)."""
    children = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def local_service_pids() -> dict[str, int]:
    """The local stack's broker and postmaster (``infra/``), when they run here."""
    found: dict[str, int] = {}
    kafka = REPO_ROOT / ".local" / "kafka" / "pid"
    postmaster = REPO_ROOT / ".local" / "postgres" / "data" / "postmaster.pid"
    for name, path in (("Kafka broker", kafka), ("Postgres", postmaster)):
        try:
            pid = int(path.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            continue
        if Path(f"/proc/{pid}").exists():
            found[name] = pid
    return found


class CpuBudget:
    """CPU seconds (and minor page faults) of named process groups between ``start()`` and
    ``stop()``."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._before: dict[int, tuple[float, int]] = {}
        self.used: dict[str, float] = {}
        self.faults: dict[str, int] = {}

    def _pids(self) -> dict[str, list[int]]:
        return {name: pids() for name, pids in self._groups.items()}

    def start(self) -> None:
        self._before = {p: (cpu_seconds(p), minor_faults(p))
                        for pids in self._pids().values() for p in pids}

    def stop(self) -> dict[str, float]:
        groups = self._pids()
        self.used = {name: sum(max(0.0, cpu_seconds(p) - self._before.get(p, (0.0, 0))[0])
                               for p in pids) for name, pids in groups.items()}
        self.faults = {name: sum(max(0, minor_faults(p) - self._before.get(p, (0.0, 0))[1])
                                 for p in pids) for name, pids in groups.items()}
        return self.used
