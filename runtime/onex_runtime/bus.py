"""An in-process event bus: what EventBus publishes to and EventDrivenNode listens on.

Delivery is in subscription order, awaited by the publisher, so a test sees an
event's effects as soon as ``publish`` returns. A failing subscriber never
breaks the publisher: its error is kept in ``failures`` (bounded), like a
dead-letter queue. Topics match exactly or by ``fnmatch`` pattern (``a.*``).
"""

from __future__ import annotations

import fnmatch
import itertools
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[["Event"], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Event:
    """One message on the bus."""

    topic: str
    payload: dict[str, Any]
    correlation_id: str = ""
    source: str = ""
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    emitted_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """A subscriber that raised while handling an event."""

    topic: str
    subscriber: str
    error: str


class InProcessEventBus:
    """Publish/subscribe within one process; bounded history for inspection."""

    def __init__(self, history: int = 1000) -> None:
        self._subs: dict[int, tuple[str, str, Handler]] = {}
        self._ids = itertools.count(1)
        self.history: deque[Event] = deque(maxlen=history)
        self.failures: deque[DeliveryFailure] = deque(maxlen=history)

    def subscribe(self, pattern: str, handler: Handler, name: str = "") -> int:
        """Deliver events whose topic matches ``pattern``; returns a token for unsubscribe."""
        token = next(self._ids)
        self._subs[token] = (pattern, name or getattr(handler, "__qualname__", "handler"), handler)
        return token

    def unsubscribe(self, token: int) -> bool:
        return self._subs.pop(token, None) is not None

    def subscribers(self, topic: str) -> list[str]:
        return [name for pattern, name, _ in self._subs.values() if _matches(pattern, topic)]

    async def publish(self, event: Event) -> int:
        """Deliver to every matching subscriber; returns how many handled it without error."""
        self.history.append(event)
        delivered = 0
        for pattern, name, handler in list(self._subs.values()):
            if not _matches(pattern, event.topic):
                continue
            try:
                await handler(event)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.failures.append(DeliveryFailure(event.topic, name, error))
            else:
                delivered += 1
        return delivered


def _matches(pattern: str, topic: str) -> bool:
    return pattern == topic or fnmatch.fnmatchcase(topic, pattern)


_DEFAULT = InProcessEventBus()


def default_bus() -> InProcessEventBus:
    """The process-wide bus used when a node's config names none."""
    return _DEFAULT
