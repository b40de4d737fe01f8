"""Mixins that remember across calls: Caching (results) and Audit (a hash chain).

Both declare *state*, so a COMPUTE node or a Stateless node refuses them at
construction: that refusal comes from the resource they declare, not from a
list of forbidden names.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from onex_runtime.component import MixinBase
from onex_runtime.context import NODE_TYPES, NodeContext

_STATEFUL_TYPES = NODE_TYPES - {"compute"}


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class CachingMixin(MixinBase):
    """LRU cache of outputs keyed by the input's JSON, with a TTL (``cache_ttl_s``)."""

    stateful: ClassVar[bool] = True
    node_types: ClassVar[frozenset[str]] = _STATEFUL_TYPES
    node_type_reason: ClassVar[str] = (
        "COMPUTE nodes are pure and stateless, and Caching keeps results between calls")
    result_cache: OrderedDict[str, tuple[float, BaseModel]]
    cache_stats: CacheStats

    def _component_setup(self) -> None:
        self.result_cache = OrderedDict()
        self.cache_stats = CacheStats()
        self.resources.declare("result_cache", "state", "Caching")

    @staticmethod
    def cache_key(input_data: BaseModel) -> str:
        return f"{type(input_data).__qualname__}:{input_data.model_dump_json()}"

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        key, now = self.cache_key(input_data), self.config.clock()
        hit = self.result_cache.get(key)
        if hit is not None and hit[0] > now:
            self.result_cache.move_to_end(key)
            self.cache_stats.hits += 1
            context.annotations["cache"] = "hit"
            return hit[1]
        self.cache_stats.misses += 1
        output = await super().handle(input_data, context)
        self.result_cache[key] = (now + self.config.cache_ttl_s, output)
        self.result_cache.move_to_end(key)
        while len(self.result_cache) > max(1, self.config.cache_size):
            self.result_cache.popitem(last=False)
            self.cache_stats.evictions += 1
        context.annotations["cache"] = "miss"
        return output

    def cache_clear(self) -> None:
        self.result_cache.clear()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    correlation_id: str
    operation: str
    outcome: str
    input_sha256: str
    prev_hash: str
    entry_hash: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class AuditMixin(MixinBase):
    """Append-only, hash-chained record of every call; ``verify_audit_trail`` detects tampering."""

    stateful: ClassVar[bool] = True
    node_types: ClassVar[frozenset[str]] = _STATEFUL_TYPES
    node_type_reason: ClassVar[str] = (
        "COMPUTE nodes are pure and stateless, and Audit keeps a trail between calls")
    audit_trail: deque[AuditEntry]

    def _component_setup(self) -> None:
        self.audit_trail = deque(maxlen=self.config.audit_capacity)
        self.resources.declare("audit_trail", "state", "Audit")

    def _append(self, context: NodeContext, input_data: BaseModel, outcome: str) -> None:
        trail = self.audit_trail
        prev = trail[-1].entry_hash if trail else "0" * 64
        seq = trail[-1].seq + 1 if trail else 1
        payload = json.dumps(input_data.model_dump(mode="json"), sort_keys=True)
        input_sha = hashlib.sha256(payload.encode()).hexdigest()
        at = time.time()
        entry_hash = _digest(prev, str(seq), repr(at), context.correlation_id,
                             context.operation, outcome, input_sha)
        trail.append(AuditEntry(seq, at, context.correlation_id, context.operation, outcome,
                                input_sha, prev, entry_hash))

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        try:
            output = await super().handle(input_data, context)
        except Exception as exc:
            self._append(context, input_data, f"failed: {type(exc).__name__}")
            raise
        self._append(context, input_data, "succeeded")
        return output

    def verify_audit_trail(self) -> bool:
        """True when every retained entry hashes correctly and links to its predecessor."""
        prev: str | None = None
        for e in self.audit_trail:
            if prev is not None and e.prev_hash != prev:
                return False
            expected = _digest(e.prev_hash, str(e.seq), repr(e.at), e.correlation_id,
                               e.operation, e.outcome, e.input_sha256)
            if expected != e.entry_hash:
                return False
            prev = e.entry_hash
        return True
