"""The Faust application: broker, serialisation and consumer settings in one place.

Values and keys are consumed as raw bytes: decoding is our job, so that a
malformed message can be dead-lettered with its original bytes instead of
crashing the stream inside Faust's deserialiser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from onexgen.settings import Settings
from onexgen.streams.faust_internals import use_fetch_limits
from onexgen.streams.lean import LeanMonitor, RawSchema


def broker_credentials(settings: Settings) -> Any:
    """Faust's credential object for the configured Kafka security settings (or None)."""
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
            ssl_context=settings.ssl_context() if protocol == "SASL_SSL" else None,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(settings.ssl_context())
    return None


def create_app(settings: Settings, *, datadir: Path | None = None) -> faust.App:
    """A Faust app for one worker process; agents are attached by ``agents.*``."""
    datadir = datadir or Path(".local") / "faust"
    # Faust makes the directory itself but not its parents: a worker started where there
    # is no .local yet (a fresh checkout, a deployment directory) stopped at start.
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,  # our own server serves /metrics and /health (agents.web)
        autodiscover=False,
        producer_acks=-1,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        # Processing a batch must stay well inside this or the consumer is kicked out.
        broker_max_poll_interval=300.0,
        stream_buffer_maxsize=max(4 * settings.batch_size, 1024),
        monitor=LeanMonitor(),  # Faust's statistics fed only its web views (streams.lean)
    )
    use_fetch_limits(app, settings.kafka_fetch_max_wait_ms, settings.kafka_fetch_min_bytes,
                     consumer_thread=settings.kafka_consumer_thread,
                     kafka_user=settings.kafka_sasl_username)
    return app


def requests_topic(app: faust.App, settings: Settings) -> Any:
    return app.topic(settings.topics.requests, schema=RawSchema())


def feedback_topic(app: faust.App, settings: Settings) -> Any:
    return app.topic(settings.topics.feedback, schema=RawSchema())
