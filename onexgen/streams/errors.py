"""Errors of the streams package.

    StreamsError
    ├── InvalidMessage      never processable (bad JSON, schema): dead-letter at once
    ├── PublishError        Kafka did not take a record (transient: retry, then dead-letter)
    │   └── PublishRefused  an ACL is missing (revoked while running): names it; retried slowly
    └── TopicSetupError     topics could not be created or checked at start
        └── KafkaAccessError    TLS, login or ACL refused: names the setting or ACL to fix
"""

from __future__ import annotations


class StreamsError(Exception):
    """Root of every error raised by ``streams``."""


class InvalidMessage(StreamsError):
    """A permanent problem with one message; ``error_type`` is a short machine-readable tag."""

    def __init__(self, reason: str, error_type: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


class PublishError(StreamsError):
    """Kafka did not acknowledge a record; the batch is retried and nothing is acked."""


class PublishRefused(PublishError):
    """The broker refused records for want of an ACL; the message names the ACL and topic.

    Retried like any publish failure, but no sooner than ``retry_after_s``: the fix is an
    operator's, at the broker, and nothing is acknowledged meanwhile."""

    retry_after_s = 1.0


class TopicSetupError(StreamsError):
    """Topics could not be created; the message says which broker and what to check."""


class KafkaAccessError(TopicSetupError):
    """The broker refused us at connection time (TLS, login, or an ACL); the message names
    the ``ONEXGEN_KAFKA_*`` setting or the ACL to fix."""
