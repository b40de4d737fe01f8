"""Dead letters: the original bytes, unchanged, with headers that say what went wrong.

Keeping the value byte-for-byte means a dead letter can be replayed onto the
requests topic as it is once the cause is fixed; everything we know about the
failure travels in ``x-*`` headers, which ``onexgen tail dlq`` turns back into a
:class:`models.wire.DeadLetter`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from onexgen.models.wire import DeadLetter
from onexgen.observability.context import CORRELATION_ID_HEADER
from onexgen.streams.records import Headers, InboundMessage, OutboundRecord

X_ERROR = "x-error"
X_ERROR_TYPE = "x-error-type"
X_ORIGIN_TOPIC = "x-origin-topic"
X_ORIGIN_PARTITION = "x-origin-partition"
X_ORIGIN_OFFSET = "x-origin-offset"
X_ATTEMPTS = "x-attempts"
X_FAILED_AT = "x-failed-at"
DLQ_HEADERS = (X_ERROR, X_ERROR_TYPE, X_ORIGIN_TOPIC, X_ORIGIN_PARTITION, X_ORIGIN_OFFSET,
               X_ATTEMPTS, X_FAILED_AT)
_MAX_REASON = 2_000


def dead_letter(
    message: InboundMessage,
    *,
    dlq_topic: str,
    reason: str,
    error_type: str,
    attempts: int,
    correlation_id: str,
) -> OutboundRecord:
    """The record that sends ``message`` to the dead-letter topic."""
    kept = [(k, v) for k, v in message.headers
            if k not in DLQ_HEADERS and k != CORRELATION_ID_HEADER]
    headers: Headers = [
        *kept,
        (CORRELATION_ID_HEADER, correlation_id.encode()),
        (X_ERROR, reason[:_MAX_REASON].encode("utf-8", "replace")),
        (X_ERROR_TYPE, error_type.encode()),
        (X_ORIGIN_TOPIC, message.topic.encode()),
        (X_ORIGIN_PARTITION, str(message.partition).encode()),
        (X_ORIGIN_OFFSET, str(message.offset).encode()),
        (X_ATTEMPTS, str(attempts).encode()),
        (X_FAILED_AT, datetime.now(UTC).isoformat().encode()),
    ]
    return OutboundRecord(dlq_topic, message.key, message.value or b"", headers)


def parse_dead_letter(message: InboundMessage) -> DeadLetter:
    """Read a record from the dead-letter topic back into its model."""
    h = {k: v.decode("utf-8", "replace") for k, v in message.headers}
    original = {k: v for k, v in h.items() if k not in DLQ_HEADERS}
    return DeadLetter(
        error=h.get(X_ERROR, ""),
        error_type=h.get(X_ERROR_TYPE, "unknown"),
        origin_topic=h.get(X_ORIGIN_TOPIC, ""),
        origin_partition=int(h.get(X_ORIGIN_PARTITION, "-1")),
        origin_offset=int(h.get(X_ORIGIN_OFFSET, "-1")),
        attempts=int(h.get(X_ATTEMPTS, "1")),
        failed_at=datetime.fromisoformat(h[X_FAILED_AT]) if X_FAILED_AT in h else datetime.now(UTC),
        correlation_id=h.get(CORRELATION_ID_HEADER),
        original_key=message.key.decode("utf-8", "replace") if message.key is not None else None,
        original_value=(message.value or b"").decode("utf-8", "replace"),
        original_headers=original,
    )
