"""The two shapes a message has inside the pipeline: as consumed and as to be produced.

Plain ``__slots__`` dataclasses: they are created for every message on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[str, bytes]]


@dataclass(slots=True, frozen=True)
class InboundMessage:
    """A consumed Kafka record, detached from the client library that delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    timestamp_ms: int | None = None

    @property
    def origin(self) -> str:
        """``topic:partition:offset``: unique per record, used as an idempotency key."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True, frozen=True)
class OutboundRecord:
    """A record to produce; ``headers`` always carry the correlation id."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)
