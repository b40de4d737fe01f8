"""Conversion from Faust events to the pipeline's own message type."""

from __future__ import annotations

from typing import Any

from onexgen.streams.records import Headers, InboundMessage


def inbound(event: Any) -> InboundMessage:
    """Detach a Faust event into an :class:`InboundMessage` (raw value, headers, position)."""
    message = event.message
    raw_headers = message.headers or []
    if isinstance(raw_headers, dict):
        raw_headers = list(raw_headers.items())
    headers: Headers = [(str(k), bytes(v) if v is not None else b"") for k, v in raw_headers]
    timestamp = message.timestamp
    return InboundMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=headers,
        timestamp_ms=int(timestamp * 1000) if timestamp else None,
    )
