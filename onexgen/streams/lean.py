"""Faust's per-message bookkeeping, cut to what the worker uses (through public APIs only).

For every consumed message Faust decodes key and value through its serializer registry
and calls its ``Monitor`` sensor four times (message in, stream event in and out,
message out). The worker consumes raw bytes and keeps its own metrics, so:

* ``RawSchema`` hands the message's bytes to the event as they are: what the ``raw``
  codec returns for bytes, without the registry's per-message codec lookups and the
  settings read behind ``app.create_event``.
* ``LeanMonitor`` keeps of Faust's ``Monitor`` only ``stream_inbound_time``, which
  Faust's consumer reads to log a stream that stopped processing; its counters and
  latency windows fed Faust's web views, which the worker does not run.

Both are Faust's public extension points (``faust.Schema``, ``App(monitor=...)``), so
nothing here depends on Faust's internals (those live in ``faust_internals``).
Measured: BENCHMARKS.md, issue 25 (session 14).
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import faust
from faust.sensors.monitor import Monitor
from faust.types import TP, AppT, EventT, Message, StreamT


class RawSchema(faust.Schema[bytes, bytes]):
    """Bytes in, the same bytes on the event: no serializer registry on the way."""

    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw")

    def compile(self, app: AppT, *, on_key_decode_error: Any = None,
                on_value_decode_error: Any = None,
                default_propagate: bool = False) -> Any:
        """The decode function Faust's topic calls for each message: an event at once.

        The raw codec cannot fail on bytes, so the decode-error callbacks are never
        needed; the event class is read from the settings on the first message (the
        app is configured by then), not on every one as ``app.create_event`` does."""
        event_class: list[Any] = []

        async def decode(message: Message, *, propagate: bool = default_propagate) -> Any:
            if not event_class:
                event_class.append(app.conf.Event)
            return event_class[0](app, message.key, message.value, message.headers, message)

        return decode


class LeanMonitor(Monitor):
    """Faust's monitor with its per-message statistics left out (see the module doc)."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        """Counted by our own metrics instead (``messages_consumed``)."""

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT[Any],
                           event: EventT[Any]) -> dict[str, Any] | None:
        """Only what Faust's consumer reads: when the stream last took an event."""
        self.stream_inbound_time[tp] = monotonic()
        return None

    def on_stream_event_out(self, tp: TP, offset: int, stream: StreamT[Any],
                            event: EventT[Any],
                            state: dict[str, Any] | None = None) -> None:
        """Faust's event latency window: not kept."""

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        """Faust's message latency: not kept."""
