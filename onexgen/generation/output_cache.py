"""Rendered-output cache, level 1: a bounded LRU inside each generation process.

A result is a pure function of the request without its ids, the template
version and the generator version, so it is cached under
``onexgen:out:<generator>:<template version>:<sha256 of the canonical request>``.
The canonical request is the JSON object as sent, minus ``request_id``, with
sorted keys (a differently written but equal request is
a miss, never a wrong hit). The cached payload holds placeholder ids; serving a
hit swaps in the request's own ids with two byte replacements, so a hit costs
microseconds and gives exactly the bytes a fresh render would.

Level 2 (shared between workers, aiocache memory or Redis) lives in the worker
process: ``codegen.shared_cache``. Both store :class:`CachedResult`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, cast

import orjson

from onexgen import __version__
from onexgen.generation.cache_stats import CounterPair
from onexgen.generation.composition import CompositionOutcome

REQUEST_ID_PLACEHOLDER = "@@onexgen:request_id@@"
CORRELATION_ID_PLACEHOLDER = "@@onexgen:correlation_id@@"
_RID = b'"request_id":"' + REQUEST_ID_PLACEHOLDER.encode() + b'"'
_CID = b'"correlation_id":"' + CORRELATION_ID_PLACEHOLDER.encode() + b'"'
_IDS = ("request_id",)  # correlation ids travel in headers; a body field is invalid


def fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the request as sent, without its ids, keys sorted."""
    body = {k: v for k, v in data.items() if k not in _IDS}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def output_key(request_fingerprint: str, template_version: str) -> str:
    return f"onexgen:out:{__version__}:{template_version}:{request_fingerprint}"


@dataclass(frozen=True, slots=True)
class CachedResult:
    """A result payload with placeholder ids, and what the job answer needs besides it."""

    status: str
    error_type: str | None
    reason: str | None
    payload: bytes
    composition: CompositionOutcome | None

    def __post_init__(self) -> None:
        if self.payload.count(_RID) != 1 or self.payload.count(_CID) != 1:
            raise ValueError("cached payload must hold each id placeholder exactly once")

    @classmethod
    def from_payload(cls, status: str, error_type: str | None, reason: str | None,
                     payload: bytes, composition: CompositionOutcome | None, *,
                     request_id: str, correlation_id: str) -> CachedResult:
        """Back from a served payload: its ids replaced by the placeholders.

        The request id is the result's second key and the correlation id its last,
        and a quote inside a JSON string is always escaped, so the first and the
        last match are the fields themselves.
        """
        rid = b'"request_id":' + orjson.dumps(request_id)
        cid = b'"correlation_id":' + orjson.dumps(correlation_id)
        at = payload.rfind(cid)
        if at < 0 or rid not in payload:
            raise ValueError("payload does not carry the given ids")
        payload = payload[:at] + _CID + payload[at + len(cid):]
        return cls(status, error_type, reason, payload.replace(rid, _RID, 1),
                   None if composition is None else composition.as_cached())

    def payload_for(self, request_id: str, correlation_id: str) -> bytes:
        """The payload with the request's ids, byte-identical to a fresh serialisation."""
        rid = b'"request_id":' + orjson.dumps(request_id)
        cid = b'"correlation_id":' + orjson.dumps(correlation_id)
        return self.payload.replace(_RID, rid, 1).replace(_CID, cid, 1)

    def encode(self) -> bytes:
        """Bytes for a shared cache: one JSON header line, then the payload."""
        comp = self.composition
        header = {"status": self.status, "error_type": self.error_type, "reason": self.reason,
                  "composition": None if comp is None else {
                      "node_type": comp.node_type, "mixins": list(comp.mixins),
                      "success": comp.success, "reason": comp.reason, "source": comp.source,
                      "template_version": comp.template_version}}
        return orjson.dumps(header) + b"\n" + self.payload

    @classmethod
    def decode(cls, data: bytes) -> CachedResult:
        head, _, payload = data.partition(b"\n")
        header = orjson.loads(head)
        comp = header.get("composition")
        composition = None if comp is None else CompositionOutcome(
            node_type=comp["node_type"], mixins=tuple(comp["mixins"]), success=comp["success"],
            reason=comp["reason"], cached=True,
            source=cast(Literal["runtime", "static"], comp["source"]),
            template_version=comp["template_version"])
        return cls(header["status"], header["error_type"], header["reason"], payload,
                   composition)

    def size(self) -> int:
        return len(self.payload) + 256


class OutputLRU:
    """In-process rendered-output cache bounded by entries and payload bytes."""

    def __init__(self, max_entries: int = 2048, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CachedResult] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> CachedResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: CachedResult) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size()
            self._entries[key] = entry
            self._bytes += entry.size()
            while len(self._entries) > 1 and (len(self._entries) > self.max_entries
                                              or self._bytes > self.max_bytes):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size()

    def stats(self) -> CounterPair:
        with self._lock:
            return CounterPair(self.hits, self.misses, len(self._entries))

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held, without counting a hit or a miss or refreshing it."""
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
