"""Picklable snapshots of the caches of one generation process.

Each pool process owns its caches; the worker asks every process for an
:class:`EngineSnapshot` (one control message per process) and turns the
cumulative counters into deltas and metrics itself (``codegen.cache_metrics``).
Snapshots are frozen dataclasses of plain values so they cross the pipe cheaply
and stay valid after the process that made them is gone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TemplateStats:
    """Cumulative counters of one template in one process."""

    name: str
    path: str
    sha256: str
    size_bytes: int
    hits: int
    misses: int
    evictions: int
    invalidations: int
    expirations: int
    loads: int
    load_ms_total: float
    last_load_ms: float | None
    last_access_at: float  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class CacheSnapshot:
    """The template cache of one process: totals, bounds and every template's counters."""

    pid: int
    directory: str
    version: str
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int
    rechecks: int
    rehashes: int
    templates: tuple[TemplateStats, ...]

    @property
    def hits(self) -> int:
        return sum(t.hits for t in self.templates)

    @property
    def misses(self) -> int:
        return sum(t.misses for t in self.templates)

    @property
    def evictions(self) -> int:
        return sum(t.evictions for t in self.templates)

    @property
    def invalidations(self) -> int:
        return sum(t.invalidations for t in self.templates)

    @property
    def expirations(self) -> int:
        return sum(t.expirations for t in self.templates)

    @property
    def load_ms_total(self) -> float:
        return sum(t.load_ms_total for t in self.templates)

    @property
    def loads(self) -> int:
        return sum(t.loads for t in self.templates)


@dataclass(frozen=True, slots=True)
class CounterPair:
    """Hits and misses of a simple cache (rendered output, composition outcomes)."""

    hits: int = 0
    misses: int = 0
    entries: int = 0

    @property
    def hit_rate(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Everything one generation process reports about its caches."""

    pid: int
    templates: CacheSnapshot
    output: CounterPair
    composition: CounterPair
    composition_checks: int  # real checks run (cache misses that ran the subprocess)
