"""Rendered-output cache, level 2, in the worker process: a dict, or Redis (shared) via aiocache.

Level 1 (``codegen.output_cache``) lives in each pool process and is a plain
LRU. This level sits in the async worker process, in front of the pool: a hit
never crosses a pipe. With the default memory backend it mostly saves the IPC
and catches repeats that landed on another pool process; with Redis
(``ONEXGEN_REDIS_URL=redis://host:6379/0``) every worker shares it, so a
request rendered by one worker is a hit on all the others.

aiocache's memory backend has no size bound, and this level keeps one: in memory
the results sit in a plain dict (``MemoryStore``) that drops its oldest keys itself,
once per stored batch, rather than in aiocache's memory backend, where each call runs
its decorators (plugins, timeout, enabled check) and every result stored past the bound
evicted one key with a call of its own (BENCHMARKS.md, issue 25). Redis bounds itself
(``maxmemory``) and entries also expire after ``ttl_s``. Redis values are
:meth:`CachedResult.encode` bytes; memory keeps the :class:`CachedResult` objects as
served (``CachedResult.served``), with no expiry (a key names the template version, so
an entry never goes stale): encoding, decoding and a timer per entry cost 13.5 µs a
result, the objects 2.6 (``python -m bench event_loop``).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from aiocache import Cache
from aiocache.serializers import NullSerializer

from onexgen.generation.cache_stats import CounterPair
from onexgen.generation.errors import GenerationError
from onexgen.generation.output_cache import CachedResult

REDIS_URL_ENV = "ONEXGEN_REDIS_URL"


class CacheBackendUnavailable(GenerationError):
    """The configured shared cache cannot be used; the message names the fix."""


def _redis_cache(url: str, ttl_s: int) -> Any:
    if Cache.REDIS is None:
        raise CacheBackendUnavailable(
            f"{REDIS_URL_ENV} is set but the redis client is not installed: run "
            f"`pip install 'onexgen[redis]'`, or unset {REDIS_URL_ENV} to use the "
            "in-memory cache")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise CacheBackendUnavailable(
            f"{REDIS_URL_ENV}={url!r} is not a Redis URL; use redis://host:6379/0")
    db = int(parts.path.strip("/") or 0)
    return Cache(Cache.REDIS, endpoint=parts.hostname, port=parts.port or 6379, db=db,
                 password=parts.password, namespace="", ttl=ttl_s,
                 serializer=NullSerializer(encoding=None))


class MemoryStore:
    """An in-process store with the four aiocache methods the cache uses, on a dict
    holding at most ``max_entries`` keys (None: no bound), the least recently stored
    dropped first."""

    def __init__(self, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.max_entries = max_entries
        self._data: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._data)

    async def multi_get(self, keys: list[str]) -> list[Any]:
        get = self._data.get
        return [get(key) for key in keys]

    async def multi_set(self, pairs: list[tuple[str, Any]], ttl: int | None = None) -> bool:
        """``ttl`` is ignored: memory entries do not expire (see the module doc)."""
        data = self._data
        for key, value in pairs:
            data.pop(key, None)  # a key stored again counts as the newest
            data[key] = value
        excess = 0 if self.max_entries is None else len(data) - self.max_entries
        if excess > 0:  # the oldest come first in a dict's order
            for key in list(islice(data, excess)):
                del data[key]
        return True

    async def delete(self, key: str) -> int:
        return 0 if self._data.pop(key, None) is None else 1

    async def close(self) -> None:
        self._data.clear()


class SharedOutputCache:
    """Async get/put of cached results, counting hits and misses."""

    def __init__(self, cache: Any, *, backend: str, ttl_s: int | None = 3600,
                 max_entries: int | None = 4096, encoded: bool = True) -> None:
        """``encoded``: values go to ``cache`` as bytes (False: as objects, in-process only)."""
        self._cache = cache
        self._store = cache if isinstance(cache, MemoryStore) else None
        self.backend = backend
        self.ttl_s = ttl_s
        self._encoded = encoded
        self.max_entries = max_entries
        self._keys: OrderedDict[str, None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @classmethod
    def memory(cls, *, max_entries: int = 4096) -> SharedOutputCache:
        return cls(MemoryStore(max_entries), backend="memory", ttl_s=None,
                   max_entries=max_entries, encoded=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, ttl_s: int = 3600,
                 max_entries: int = 4096) -> SharedOutputCache:
        """Redis when ``ONEXGEN_REDIS_URL`` is set (fails naming the fix), else memory.
        ``ttl_s`` applies to Redis only: memory entries do not expire."""
        url = (os.environ if env is None else env).get(REDIS_URL_ENV, "").strip()
        if not url:
            return cls.memory(max_entries=max_entries)
        return cls(_redis_cache(url, ttl_s), backend="redis", ttl_s=ttl_s, max_entries=None)

    async def get_many(self, keys: Sequence[str]) -> list[CachedResult | None]:
        """The cached results for ``keys`` (None where missing or unreadable)."""
        if not keys:
            return []
        values = await self._cache.multi_get(list(keys))
        out: list[CachedResult | None] = []
        for value in values:
            entry = None
            if isinstance(value, CachedResult):
                entry = value
            elif isinstance(value, bytes | bytearray):
                try:
                    entry = CachedResult.decode(bytes(value))
                except (ValueError, KeyError, TypeError):
                    entry = None  # written by an incompatible version: treat as a miss
            out.append(entry)
        found = sum(1 for e in out if e is not None)
        self.hits += found
        self.misses += len(out) - found
        return out

    async def put_many(self, items: Sequence[tuple[str, CachedResult]]) -> None:
        if not items:
            return
        pairs = [(k, v.encode()) for k, v in items] if self._encoded else list(items)
        await self._cache.multi_set(pairs, ttl=self.ttl_s)
        if self.max_entries is None or self._store is not None:
            return  # no bound, or the store keeps it
        for key, _ in items:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self.max_entries:
            oldest, _ = self._keys.popitem(last=False)
            await self._cache.delete(oldest)

    def stats(self) -> CounterPair:
        held = len(self._store) if self._store is not None else len(self._keys)
        return CounterPair(self.hits, self.misses, held)

    async def close(self) -> None:
        await self._cache.close()
