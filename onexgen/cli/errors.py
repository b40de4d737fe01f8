"""One-line descriptions of failures for the CLI, with the fix where we know it."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaError


def describe(exc: BaseException) -> str:
    if isinstance(exc, KafkaConnectionError):
        return (f"cannot reach Kafka ({exc}); start it with `make stack-up` "
                "or set ONEXGEN_KAFKA_BOOTSTRAP=host:port")
    if isinstance(exc, KafkaError):
        return f"Kafka error: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}; check the path"
    return f"{type(exc).__name__}: {exc}"
