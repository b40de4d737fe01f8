"""Rendered-output cache, level 1: a bounded LRU inside each generation process.

A result is a pure function of the request without its ids, the template
version and the generator version, so it is cached under
``onexgen:out:<generator>:<template version>:<sha256 of the canonical request>``.
The canonical request is the JSON object as sent, minus ``request_id``, with
sorted keys (a differently written but equal request is
a miss, never a wrong hit). The cached payload holds placeholder ids; serving a
hit swaps in the request's own ids with two byte replacements, so a hit costs
microseconds and gives exactly the bytes a fresh render would.

Level 2 (shared between workers, a dict or Redis) lives in the worker process:
``codegen.shared_cache``. Both store :class:`CachedResult`; the worker's dict keeps a
fresh result as it was served (``CachedResult.served``: its ids where it got them, no
copy and no scan of the payload) and swaps the ids only when it answers a repeat.
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


def fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the request as sent, without its ids, keys sorted."""
    body = data
    # Only request_id: correlation ids travel in headers (a body field is invalid). A
    # copy in C and a del, not a comprehension: the same keys in the same order.
    if "request_id" in data:
        body = dict(data)
        del body["request_id"]
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def output_key(request_fingerprint: str, template_version: str) -> str:
    return f"onexgen:out:{__version__}:{template_version}:{request_fingerprint}"


def _id_fields(request_id: str, correlation_id: str) -> tuple[bytes, bytes]:
    """The two id fields as a result's JSON spells them."""
    return (b'"request_id":' + orjson.dumps(request_id),
            b'"correlation_id":' + orjson.dumps(correlation_id))


@dataclass(frozen=True, slots=True)
class CachedResult:
    """A result payload with placeholder ids (or, with ``ids``, the ids it was served
    with), and what the job answer needs besides it."""

    status: str
    error_type: str | None
    reason: str | None
    payload: bytes
    composition: CompositionOutcome | None
    ids: tuple[str, str] | None = None
    """(request id, correlation id) the payload carries; None: it carries the placeholders."""

    def __post_init__(self) -> None:
        if self.ids is None and (self.payload.count(_RID) != 1
                                 or self.payload.count(_CID) != 1):
            raise ValueError("cached payload must hold each id placeholder exactly once")

    @classmethod
    def served(cls, status: str, error_type: str | None, reason: str | None,
               payload: bytes, composition: CompositionOutcome | None, *,
               request_id: str, correlation_id: str) -> CachedResult:
        """A served payload kept as it is, with the ids it carries: what
        :meth:`from_payload` gives once its ids are swapped, without its two copies of
        the payload and two scans of it (the fields are looked for where they are, near
        the payload's two ends). Raises ``ValueError`` if the payload lacks them."""
        rid, cid = _id_fields(request_id, correlation_id)
        if not 0 <= payload.find(rid) < payload.rfind(cid):
            raise ValueError("payload does not carry the given ids")
        return cls(status, error_type, reason, payload, composition,
                   (request_id, correlation_id))

    @classmethod
    def from_payload(cls, status: str, error_type: str | None, reason: str | None,
                     payload: bytes, composition: CompositionOutcome | None, *,
                     request_id: str, correlation_id: str) -> CachedResult:
        """Back from a served payload: its ids replaced by the placeholders.

        The request id is the result's second key and the correlation id its last,
        and a quote inside a JSON string is always escaped, so the first and the
        last match are the fields themselves.
        """
        rid, cid = _id_fields(request_id, correlation_id)
        at = payload.rfind(cid)
        if at < 0 or rid not in payload:
            raise ValueError("payload does not carry the given ids")
        payload = payload[:at] + _CID + payload[at + len(cid):]
        return cls(status, error_type, reason, payload.replace(rid, _RID, 1),
                   None if composition is None else composition.as_cached())

    def payload_for(self, request_id: str, correlation_id: str) -> bytes:
        """The payload with the request's ids, byte-identical to a fresh serialisation."""
        rid, cid = _id_fields(request_id, correlation_id)
        if self.ids is None:
            return self.payload.replace(_RID, rid, 1).replace(_CID, cid, 1)
        if self.ids == (request_id, correlation_id):
            return self.payload
        # As from_payload finds them: the first request id field, the last correlation id
        # field; one copy of the payload, joined from views around the two fields.
        old_rid, old_cid = _id_fields(*self.ids)
        payload = memoryview(self.payload)
        r, c = self.payload.find(old_rid), self.payload.rfind(old_cid)
        return b"".join((payload[:r], rid, payload[r + len(old_rid):c], cid,
                         payload[c + len(old_cid):]))

    def placeholders(self) -> CachedResult:
        """This result with the placeholder ids (itself if it has them)."""
        if self.ids is None:
            return self
        return CachedResult.from_payload(self.status, self.error_type, self.reason,
                                         self.payload, self.composition,
                                         request_id=self.ids[0], correlation_id=self.ids[1])

    def encode(self) -> bytes:
        """Bytes for a shared cache: one JSON header line, then the payload (with the
        placeholder ids: the format other workers and versions read)."""
        if self.ids is not None:
            return self.placeholders().encode()
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
