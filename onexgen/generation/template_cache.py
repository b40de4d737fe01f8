"""Compiled templates in a bounded LRU that notices edited files without re-reading them.

Why not Jinja2's own cache: with ``auto_reload=True`` it stats the file on every
``get_template``; without it, it never notices edits. Here a cached ``get`` is a
dict lookup plus a TTL comparison, and freshness is checked for the whole
directory at most once every ``recheck_s`` seconds: every ``*.j2`` file is
``stat``-ed, only files whose (mtime, size, inode) changed are read and hashed,
and only a changed SHA-256 invalidates the compiled template. So touching a file
costs one re-hash and no recompilation, and an edit is served within
``recheck_s`` (default 2 s) by every process that uses the cache.

Bounds: ``max_entries`` templates (default 100), ``max_bytes`` of estimated
compiled size (default 50 MB), each entry at most ``ttl_s`` old (default 1 h).
All state is guarded by one lock (thread-safe); each process holds its own cache
and rescans on its own (process-safe: nothing is shared that could go stale).

``version`` is ``<series>+<12 hex of a digest over every template's path and
SHA-256>``: it changes with any template edit, which keys the output cache.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from onexgen.generation.cache_stats import CacheSnapshot, TemplateStats

T = TypeVar("T")

COMPILED_OVERHEAD_BYTES = 8_192
COMPILED_BYTES_PER_SOURCE_BYTE = 12
"""Estimate of a compiled Jinja2 template's memory: measured with tracemalloc on our
templates (about 6 KB fixed plus 12-40 bytes per source byte, larger for tiny files)."""


def estimated_size(source: bytes) -> int:
    """Bytes a compiled template of ``source`` is assumed to hold (for the byte bound)."""
    return COMPILED_OVERHEAD_BYTES + COMPILED_BYTES_PER_SOURCE_BYTE * len(source)


@dataclass(slots=True)
class _FileState:
    path: Path
    stamp: tuple[int, int, int]  # mtime_ns, size, inode
    sha256: str


@dataclass(slots=True)
class _Counters:
    """Per-template counters; they outlive evictions so the statistics stay complete."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0
    expirations: int = 0
    loads: int = 0
    load_ms_total: float = 0.0
    last_load_ms: float | None = None
    last_access: float = 0.0  # on the injected (monotonic) clock
    size_bytes: int = 0


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    sha256: str
    size: int
    expires_at: float
    counters: _Counters


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class TemplateCache(Generic[T]):
    """LRU of compiled templates from one directory; ``compile(name, source, filename)`` builds one.

    ``clock`` is monotonic seconds (inject one in tests); ``wall_clock`` is used
    only to date the statistics.
    """

    def __init__(
        self,
        directory: Path,
        compile: Callable[[str, str, str], T],
        *,
        series: str = "1.0.0",
        max_entries: int = 100,
        max_bytes: int = 50 * 1024 * 1024,
        ttl_s: float = 3600.0,
        recheck_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or max_bytes < 1 or ttl_s <= 0 or recheck_s < 0:
            raise ValueError("max_entries, max_bytes and ttl_s must be positive, recheck_s >= 0")
        self.directory = directory.resolve()
        self.series = series
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.ttl_s, self.recheck_s = ttl_s, recheck_s
        self._compile = compile
        self._clock, self._wall = clock, wall_clock
        self._lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._counters: dict[str, _Counters] = {}
        self._files: dict[str, _FileState] = {}
        self._bytes = 0
        self.rechecks = 0
        self.rehashes = 0
        self.version = ""
        self._next_scan = 0.0
        self.refresh()

    # -- the hot path -------------------------------------------------------------------------

    def get(self, name: str) -> T:
        """The compiled template ``name``; a hit is a dict lookup and a clock read."""
        now = self._clock()
        if now >= self._next_scan:
            self.refresh(now)
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None:
                if now < entry.expires_at:
                    self._entries.move_to_end(name)
                    counters = entry.counters
                    counters.hits += 1
                    counters.last_access = now
                    return entry.value
                self._drop(name).expirations += 1
        return self._load(name, now)

    def current_version(self) -> str:
        """``version``, after a freshness check if one is due (call before rendering)."""
        now = self._clock()
        if now >= self._next_scan:
            self.refresh(now)
        return self.version

    # -- loading and bounds ---------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            raise FileNotFoundError(f"no template {name!r} in {self.directory}")
        return path

    def _load(self, name: str, now: float) -> T:
        path = self._path(name)
        started = time.perf_counter()
        source = path.read_bytes()
        stamp = _stamp(path.stat())
        value = self._compile(name, source.decode("utf-8"), str(path))
        load_ms = (time.perf_counter() - started) * 1000
        sha = hashlib.sha256(source).hexdigest()
        size = estimated_size(source)
        with self._lock:
            counters = self._counters.setdefault(name, _Counters())
            counters.misses += 1
            counters.loads += 1
            counters.load_ms_total += load_ms
            counters.last_load_ms = load_ms
            counters.last_access = now
            counters.size_bytes = size
            known = self._files.get(name)
            if known is None or known.sha256 != sha:
                # Read a newer file than the last scan saw: the version must say so.
                self._files[name] = _FileState(path, stamp, sha)
                self.version = self._digest()
            if name in self._entries:
                self._drop(name)
            self._entries[name] = _Entry(value, sha, size, now + self.ttl_s, counters)
            self._bytes += size
            self._evict(keep=name)
        return value

    def _drop(self, name: str) -> _Counters:
        entry = self._entries.pop(name)
        self._bytes -= entry.size
        return entry.counters

    def _evict(self, keep: str) -> None:
        while len(self._entries) > self.max_entries or (
                self._bytes > self.max_bytes and len(self._entries) > 1):
            oldest = next(iter(self._entries))
            if oldest == keep:  # never evict what was just loaded: move it behind the rest
                self._entries.move_to_end(oldest)
                oldest = next(iter(self._entries))
            self._drop(oldest).evictions += 1

    def warm(self, names: Iterable[str] | None = None) -> int:
        """Load ``names`` (default: every template in the directory); returns how many."""
        chosen = (sorted(n for n in self._files if n.endswith(".j2")) if names is None
                  else list(names))
        for name in chosen:
            self.get(name)
        return len(chosen)

    # -- freshness ------------------------------------------------------------------------------

    def refresh(self, now: float | None = None) -> int:
        """Stat every template now; re-hash changed ones; return how many were invalidated."""
        if not self._scan_lock.acquire(blocking=False):
            return 0  # another thread is scanning; its result serves this caller too
        try:
            now = self._clock() if now is None else now
            invalidated = self._scan()
            self.rechecks += 1
            self._next_scan = now + self.recheck_s
            return invalidated
        finally:
            self._scan_lock.release()

    def _listing(self) -> Iterable[tuple[str, Path]]:
        """(name, path) of every file the version covers (a layered cache adds layers)."""
        for path in self.directory.rglob("*.j2"):
            yield path.relative_to(self.directory).as_posix(), path

    def _scan(self) -> int:
        seen: dict[str, _FileState] = {}
        for name, path in self._listing():
            try:
                stamp = _stamp(path.stat())
            except FileNotFoundError:
                continue  # deleted between listing and stat
            known = self._files.get(name)
            if known is not None and known.stamp == stamp:
                seen[name] = known
                continue
            try:
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
            except FileNotFoundError:
                continue
            self.rehashes += 1
            seen[name] = _FileState(path, stamp, sha)
        invalidated = 0
        with self._lock:
            for name, entry in list(self._entries.items()):
                new = seen.get(name)
                if new is None or entry.sha256 != new.sha256:
                    self._drop(name).invalidations += 1
                    invalidated += 1
            self._files = seen
            self.version = self._digest()
        return invalidated

    def _digest(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self._files):
            digest.update(f"{name}\0{self._files[name].sha256}\0".encode())
        return f"{self.series}+{digest.hexdigest()[:12]}"

    # -- statistics -----------------------------------------------------------------------------

    def stats(self) -> CacheSnapshot:
        """A picklable snapshot of cumulative counters (per template and in total)."""
        now, wall = self._clock(), self._wall()
        with self._lock:
            templates = tuple(
                TemplateStats(
                    name=name, path=str(self._files[name].path if name in self._files
                                        else self.directory / name),
                    sha256=self._files[name].sha256 if name in self._files else "",
                    size_bytes=c.size_bytes, hits=c.hits, misses=c.misses,
                    evictions=c.evictions, invalidations=c.invalidations,
                    expirations=c.expirations, loads=c.loads, load_ms_total=c.load_ms_total,
                    last_load_ms=c.last_load_ms,
                    last_access_at=wall - max(0.0, now - c.last_access))
                for name, c in sorted(self._counters.items()))
            return CacheSnapshot(pid=os.getpid(), directory=str(self.directory),
                                 version=self.version, entries=len(self._entries),
                                 bytes=self._bytes, max_entries=self.max_entries,
                                 max_bytes=self.max_bytes, rechecks=self.rechecks,
                                 rehashes=self.rehashes, templates=templates)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    @property
    def size_bytes(self) -> int:
        return self._bytes
