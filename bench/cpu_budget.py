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

ROOT = Path(__file__).resolve().parents[1]


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (None when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of one process so far, from one
    read of its stat (0s when it is gone). A minor fault is a page handed out afresh by
    the kernel, in kernel time."""
    fields = _stat(pid)
    if not fields:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[7])


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


def local_service_pids(local: Path = ROOT / ".local") -> dict[str, int]:
    """The broker and postmaster of the local stack under ``local`` (``infra/``; the
    secured stack's is ``.local/secure``), when they run here."""
    found: dict[str, int] = {}
    kafka = local / "kafka" / "pid"
    postmaster = local / "postgres" / "data" / "postmaster.pid"
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
        self._before = {p: usage(p) for pids in self._pids().values() for p in pids}

    def stop(self) -> dict[str, float]:
        self.used, self.faults = {}, {}
        for name, pids in self._pids().items():
            cpu, faults = 0.0, 0
            for p in pids:
                now, before = usage(p), self._before.get(p, (0.0, 0))
                cpu += max(0.0, now[0] - before[0])
                faults += max(0, now[1] - before[1])
            self.used[name], self.faults[name] = cpu, faults
        return self.used
