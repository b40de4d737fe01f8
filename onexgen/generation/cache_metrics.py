"""Cache statistics of all pool processes -> Prometheus metrics and table rows.

Pool processes report cumulative counters (:class:`EngineSnapshot`); this
module, in the worker process, keeps the last snapshot of each process and
turns the difference into deltas. Deltas are added to totals kept here, so the
exported counters never go backwards when a pool process is replaced (a killed
process's activity after its last scrape is lost, nothing more), and the same
deltas become ``TemplateCacheUpdate`` rows, which the repository adds up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from onexgen.generation.cache_stats import CounterPair, EngineSnapshot, TemplateStats
from onexgen.models.rows import TemplateCacheUpdate, TemplateType

_TYPES = {"contract": TemplateType.CONTRACT, "test": TemplateType.TEST,
          "models": TemplateType.MODEL, "readme": TemplateType.README,
          "init": TemplateType.INIT, "mixin": TemplateType.MIXIN}


def template_type(name: str) -> TemplateType:
    """``contract.yaml.j2`` -> CONTRACT, ``test_node.py.j2`` -> TEST; node parts -> NODE."""
    stem = name.rsplit("/", 1)[-1].lower()
    for prefix, kind in _TYPES.items():
        if stem.startswith(prefix):
            return kind
    return TemplateType.NODE


@dataclass(slots=True)
class _Totals:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0
    expirations: int = 0
    loads: int = 0
    load_ms: float = 0.0


@dataclass(slots=True)
class _Aggregate:
    templates: dict[str, _Totals] = field(default_factory=dict)
    output: dict[str, list[int]] = field(default_factory=lambda: {"process": [0, 0],
                                                                  "shared": [0, 0]})
    composition: list[int] = field(default_factory=lambda: [0, 0])
    composition_checks: int = 0
    entries: int = 0
    bytes: int = 0
    processes: int = 0


def _delta(now: TemplateStats, before: TemplateStats | None) -> TemplateStats:
    if before is None or now.hits < before.hits or now.misses < before.misses:
        return now  # first sight, or a new process that reuses a pid: all of it is new
    return TemplateStats(
        name=now.name, path=now.path, sha256=now.sha256, size_bytes=now.size_bytes,
        hits=now.hits - before.hits, misses=now.misses - before.misses,
        evictions=now.evictions - before.evictions,
        invalidations=now.invalidations - before.invalidations,
        expirations=now.expirations - before.expirations, loads=now.loads - before.loads,
        load_ms_total=now.load_ms_total - before.load_ms_total, last_load_ms=now.last_load_ms,
        last_access_at=now.last_access_at)


class EngineStatsCollector(Collector):
    """Turns repeated snapshots into deltas, running totals, metrics and table rows.

    Register it on a ``CollectorRegistry`` (constructor argument) to export
    ``onexgen_template_cache_*``, ``onexgen_output_cache_*`` and
    ``onexgen_composition_*`` metrics.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, EngineSnapshot] = {}
        self._shared_last = CounterPair()
        self._agg = _Aggregate()
        if registry is not None:
            registry.register(self)

    def observe(self, snapshots: Sequence[EngineSnapshot],
                shared: CounterPair | None = None) -> list[TemplateCacheUpdate]:
        """Account for new snapshots (one per live process); return this period's rows."""
        rows: list[TemplateCacheUpdate] = []
        with self._lock:
            agg = self._agg
            for snap in snapshots:
                before = self._last.get(snap.pid)
                known = {t.name: t for t in before.templates.templates} if before else {}
                for stats in snap.templates.templates:
                    delta = _delta(stats, known.get(stats.name))
                    self._add(agg.templates.setdefault(stats.name, _Totals()), delta)
                    row = _row(delta)
                    if row is not None:
                        rows.append(row)
                self._add_pairs(snap, before)
                self._last[snap.pid] = snap
            for pid in set(self._last) - {s.pid for s in snapshots}:
                del self._last[pid]  # replaced process: its last counts are already in
            agg.entries = sum(s.templates.entries for s in snapshots)
            agg.bytes = sum(s.templates.bytes for s in snapshots)
            agg.processes = len(snapshots)
            if shared is not None:
                last = self._shared_last
                agg.output["shared"][0] += max(0, shared.hits - last.hits)
                agg.output["shared"][1] += max(0, shared.misses - last.misses)
                self._shared_last = shared
        return rows

    @staticmethod
    def _add(totals: _Totals, d: TemplateStats) -> None:
        totals.hits += d.hits
        totals.misses += d.misses
        totals.evictions += d.evictions
        totals.invalidations += d.invalidations
        totals.expirations += d.expirations
        totals.loads += d.loads
        totals.load_ms += d.load_ms_total

    def _add_pairs(self, snap: EngineSnapshot, before: EngineSnapshot | None) -> None:
        agg = self._agg
        _grow(snap.output, before.output if before else None, agg.output["process"])
        _grow(snap.composition, before.composition if before else None, agg.composition)
        prior = before.composition_checks if before else 0
        if snap.composition_checks < prior:
            prior = 0
        agg.composition_checks += snap.composition_checks - prior

    def totals(self) -> dict[str, int]:
        """Running totals over all processes (for logs and tests)."""
        with self._lock:
            t = self._agg.templates.values()
            return {"hits": sum(x.hits for x in t), "misses": sum(x.misses for x in t),
                    "evictions": sum(x.evictions for x in t),
                    "invalidations": sum(x.invalidations for x in t),
                    "output_hits": self._agg.output["process"][0] + self._agg.output["shared"][0],
                    "output_misses": self._agg.output["process"][1],
                    "composition_hits": self._agg.composition[0],
                    "composition_misses": self._agg.composition[1],
                    "composition_checks": self._agg.composition_checks}

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            yield from _families(self._agg)


def _grow(now: CounterPair, then: CounterPair | None, into: list[int]) -> None:
    if then is None or now.hits < then.hits or now.misses < then.misses:
        then = CounterPair()  # first sight, or a new process under an old pid
    into[0] += now.hits - then.hits
    into[1] += now.misses - then.misses


def _row(d: TemplateStats) -> TemplateCacheUpdate | None:
    if (d.hits == 0 and d.misses == 0) or len(d.sha256) != 64:
        return None
    return TemplateCacheUpdate(
        template_name=d.name, template_type=template_type(d.name),
        cache_key=f"{d.name}@{d.sha256[:12]}", file_path=d.path, file_hash=d.sha256,
        size_bytes=d.size_bytes, last_accessed_at=datetime.fromtimestamp(d.last_access_at, UTC),
        load_time_ms=d.last_load_ms if d.loads else None, access_count=d.hits + d.misses,
        cache_hits=d.hits, cache_misses=d.misses)


def _families(agg: _Aggregate) -> Iterable[Metric]:
    per_template = (("hits", "lookups served from the cache"),
                    ("misses", "lookups that loaded and compiled the template"),
                    ("evictions", "entries dropped by the count or byte bound"),
                    ("invalidations", "entries dropped because the file's SHA-256 changed"),
                    ("expirations", "entries dropped by the TTL"))
    for attr, doc in per_template:
        family = CounterMetricFamily(f"onexgen_template_cache_{attr}",
                                     f"Template cache: {doc}.", labels=["template"])
        for name, totals in sorted(agg.templates.items()):
            family.add_metric([name], getattr(totals, attr))
        yield family
    load = SummaryMetricFamily("onexgen_template_load_seconds",
                               "Time to read and compile a template on a cache miss.")
    load.add_metric([], sum(t.loads for t in agg.templates.values()),
                    sum(t.load_ms for t in agg.templates.values()) / 1000)
    yield load
    yield GaugeMetricFamily("onexgen_template_cache_entries",
                            "Compiled templates held, over all pool processes.", agg.entries)
    yield GaugeMetricFamily("onexgen_template_cache_bytes",
                            "Estimated bytes of compiled templates held, over all pool processes.",
                            agg.bytes)
    for index, what in ((0, "hits"), (1, "misses")):
        out = CounterMetricFamily(f"onexgen_output_cache_{what}",
                                  f"Rendered-output cache {what}, by level.", labels=["level"])
        for level, pair in sorted(agg.output.items()):
            out.add_metric([level], pair[index])
        yield out
    yield CounterMetricFamily("onexgen_composition_cache_hits",
                              "Composition outcomes served from the per-process cache.",
                              agg.composition[0])
    yield CounterMetricFamily("onexgen_composition_cache_misses",
                              "Composition outcomes not cached yet.", agg.composition[1])
    yield CounterMetricFamily("onexgen_composition_checks",
                              "Real composition checks run (import, instantiate, test).",
                              agg.composition_checks)
