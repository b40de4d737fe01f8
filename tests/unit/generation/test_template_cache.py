"""The template cache: bounds, TTL, content-hash invalidation, statistics (clock injected)."""

from __future__ import annotations

import os
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from onexgen.generation.render import TEMPLATE_DIR, Renderer
from onexgen.generation.template_cache import TemplateCache, estimated_size
from tests.unit.generation.conftest import make_request


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _compile(name: str, source: str, filename: str) -> str:
    return f"compiled:{source}"


def _cache(directory: Path, clock: Clock, **options: Any) -> TemplateCache[str]:
    return TemplateCache(directory, _compile, clock=clock, **options)


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    for i in range(5):
        (tmp_path / f"t{i}.j2").write_text(f"template {i}\n")
    return tmp_path


def _write_keeping_stamp_distinct(path: Path, text: str) -> None:
    """Rewrite ``path``; push its mtime forward so even a coarse clock sees the edit."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_get_cached_template_served_without_reading_file(tdir: Path) -> None:
    clock = Clock()
    cache = _cache(tdir, clock)
    assert cache.get("t0.j2") == "compiled:template 0\n"
    (tdir / "t0.j2").unlink()  # a hit must not touch the file at all
    assert cache.get("t0.j2") == "compiled:template 0\n"
    stats = {t.name: t for t in cache.stats().templates}
    assert (stats["t0.j2"].hits, stats["t0.j2"].misses) == (1, 1)


def test_get_more_templates_than_max_entries_evicts_least_recently_used(tdir: Path) -> None:
    cache = _cache(tdir, Clock(), max_entries=3)
    for name in ("t0.j2", "t1.j2", "t2.j2"):
        cache.get(name)
    cache.get("t0.j2")  # t1 is now the least recently used
    cache.get("t3.j2")
    assert "t1.j2" not in cache and {"t0.j2", "t2.j2", "t3.j2"} <= {
        n for n in ("t0.j2", "t1.j2", "t2.j2", "t3.j2") if n in cache}
    assert cache.stats().evictions == 1 and len(cache) == 3


def test_get_past_byte_bound_evicts_until_within_bound(tdir: Path) -> None:
    one = estimated_size(b"template 0\n")
    cache = _cache(tdir, Clock(), max_bytes=2 * one + 1)
    for i in range(4):
        cache.get(f"t{i}.j2")
    assert len(cache) == 2 and cache.size_bytes <= 2 * one + 1
    assert "t3.j2" in cache and "t2.j2" in cache
    assert cache.stats().evictions == 2


def test_get_after_ttl_expired_reloads_and_counts_expiration(tdir: Path) -> None:
    clock = Clock()
    cache = _cache(tdir, clock, ttl_s=60, recheck_s=1e9)
    cache.get("t0.j2")
    clock.now += 59
    cache.get("t0.j2")
    assert cache.stats().misses == 1
    clock.now += 2
    cache.get("t0.j2")
    stats = cache.stats()
    assert (stats.misses, stats.hits, stats.expirations) == (2, 1, 1)


def test_refresh_edited_template_invalidates_and_changes_version(tdir: Path) -> None:
    clock = Clock()
    cache = _cache(tdir, clock, recheck_s=2)
    cache.get("t0.j2")
    version = cache.version
    _write_keeping_stamp_distinct(tdir / "t0.j2", "edited\n")
    clock.now += 1  # within the recheck interval: still the old content
    assert cache.get("t0.j2") == "compiled:template 0\n"
    clock.now += 1.5
    assert cache.get("t0.j2") == "compiled:edited\n"
    assert cache.version != version
    stats = cache.stats()
    assert stats.invalidations == 1 and stats.misses == 2


def test_refresh_touched_but_unchanged_template_keeps_entry_and_version(tdir: Path) -> None:
    clock = Clock()
    cache = _cache(tdir, clock, recheck_s=2)
    cache.get("t0.j2")
    version, rehashes = cache.version, cache.rehashes
    _write_keeping_stamp_distinct(tdir / "t0.j2", "template 0\n")
    clock.now += 3
    assert cache.get("t0.j2") == "compiled:template 0\n"
    assert cache.rehashes == rehashes + 1  # the stat change was noticed and re-hashed
    stats = cache.stats()
    assert (stats.invalidations, stats.misses, cache.version) == (0, 1, version)


def test_refresh_new_and_deleted_templates_change_version(tdir: Path) -> None:
    cache = _cache(tdir, Clock())
    cache.get("t4.j2")
    first = cache.version
    (tdir / "t9.j2").write_text("new\n")
    cache.refresh()
    second = cache.version
    (tdir / "t4.j2").unlink()
    assert cache.refresh() == 1
    assert len({first, second, cache.version}) == 3 and "t4.j2" not in cache


def test_get_missing_or_escaping_name_raises_file_not_found(tdir: Path) -> None:
    cache = _cache(tdir, Clock())
    for name in ("nope.j2", "../outside.j2"):
        with pytest.raises(FileNotFoundError, match="no template"):
            cache.get(name)


def test_get_from_many_threads_counts_every_lookup(tdir: Path) -> None:
    cache = _cache(tdir, Clock())
    cache.warm()

    def hammer() -> None:
        for i in range(2000):
            cache.get(f"t{i % 5}.j2")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.stats().hits == 8000 and cache.stats().misses == 5


def test_stats_snapshot_pickles_with_per_template_counters(tdir: Path) -> None:
    cache = _cache(tdir, Clock())
    cache.get("t1.j2")
    snap = pickle.loads(pickle.dumps(cache.stats()))  # noqa: S301 - our own bytes, as a pipe does
    assert snap.pid == os.getpid() and snap.entries == 1
    (t1,) = [t for t in snap.templates if t.name == "t1.j2"]
    assert len(t1.sha256) == 64 and t1.loads == 1 and t1.last_load_ms is not None


def test_renderer_edited_template_in_directory_picked_up_after_recheck(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, copy)
    clock = Clock()
    renderer = Renderer(copy, clock=clock, recheck_s=2)
    before = renderer.render(make_request("effect", []))
    _write_keeping_stamp_distinct(copy / "README.md.j2",
                                  (copy / "README.md.j2").read_text() + "\nEdited.\n")
    clock.now += 3
    after = renderer.render(make_request("effect", []))
    assert after.template_version != before.template_version
    readme = next(f for f in after.files if f.path == "README.md")
    assert readme.content.endswith("Edited.\n") and after.template_version in readme.content
    node = next(f for f in after.files if f.path == "node.py")
    assert after.template_version in node.content  # every file carries the new version
