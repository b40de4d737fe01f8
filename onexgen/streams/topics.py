"""The five topics: how many partitions, how long they keep data, and creating them.

Topics are created by us at start (not auto-created by the broker) so that their
partition counts and retention are the ones chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)

from onexgen.settings import Settings
from onexgen.streams.errors import KafkaAccessError, TopicSetupError
from onexgen.streams.security import raise_access_error

DAY_MS = 24 * 3600 * 1000


@dataclass(slots=True, frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    compacted: bool = False

    def configs(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms)}
        if self.compacted:
            # Results are keyed by request id: compaction keeps the latest result per
            # request forever-ish while deletion bounds the rest.
            cfg["cleanup.policy"] = "compact,delete"
        return cfg


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Requests and results scale with load (the configured partitions); the rest are small."""
    t, p = settings.topics, settings.topic_partitions
    return [
        TopicSpec(t.requests, p, 7 * DAY_MS),
        TopicSpec(t.results, p, 7 * DAY_MS, compacted=True),
        TopicSpec(t.feedback, max(1, p // 2), 30 * DAY_MS),
        TopicSpec(t.alerts, 1, 30 * DAY_MS),
        TopicSpec(t.dlq, 1, 30 * DAY_MS),
    ]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics; returns the names created now. Safe to run twice."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-admin",
        **settings.kafka_client_kwargs(),
    )
    try:
        await admin.start()
    except KafkaError as exc:
        await raise_access_error(settings, exc)
        raise TopicSetupError(
            f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}; "
            "start it with `make stack-up` or set ONEXGEN_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in topic_specs(settings) if s.name not in existing]
        if not missing:
            return []
        new = [NewTopic(s.name, s.partitions, settings.topic_replication, topic_configs=s.configs())
               for s in missing]
        try:
            response = await admin.create_topics(new)
        except TopicAlreadyExistsError:
            return []
        created = []
        for name, code, message in _topic_errors(response):
            if code == 0:
                created.append(name)
            elif code == TopicAuthorizationFailedError.errno:
                raise KafkaAccessError(
                    f"could not create topic {name}: user {settings.kafka_sasl_username!r} "
                    "lacks the CREATE ACL on the cluster (or on the topic): grant it, or "
                    "create the topics beforehand with `onexgen topics` as an admin")
            elif code == ClusterAuthorizationFailedError.errno:
                raise KafkaAccessError(
                    f"could not create topic {name}: user {settings.kafka_sasl_username!r} "
                    "lacks the CREATE ACL on the cluster: grant it, or create the topics "
                    "beforehand with `onexgen topics` as an admin")
            elif code != TopicAlreadyExistsError.errno:
                raise TopicSetupError(f"could not create topic {name}: error {code} {message}")
        return created
    except KafkaError as exc:
        raise TopicSetupError(f"topic setup failed on {settings.kafka_bootstrap}: {exc}") from exc
    finally:
        await admin.close()


def _topic_errors(response: object) -> list[tuple[str, int, str]]:
    """(name, error code, message) from a CreateTopics response of any version."""
    out = []
    for entry in getattr(response, "topic_errors", []):
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else ""
        out.append((str(name), int(code), str(message or "")))
    return out
