"""The five topics: how many partitions, how long they keep data, and creating them.

Topics are created by us at start (not auto-created by the broker) so that their
partition counts and retention are the ones chosen here. A created topic reaches the
brokers' metadata a moment after CreateTopics answers (seconds on a loaded broker);
a consumer group that joins in that moment is assigned nothing and stays idle until
its next metadata refresh (five minutes by default), so ``ensure_topics`` returns only
once the broker serves every topic with a leader for each partition.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

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
        created = await _create_missing(admin, settings)
        await wait_until_served(admin, [s.name for s in topic_specs(settings)])
        return created
    except KafkaError as exc:
        raise TopicSetupError(f"topic setup failed on {settings.kafka_bootstrap}: {exc}") from exc
    finally:
        await admin.close()


async def _create_missing(admin: AIOKafkaAdminClient, settings: Settings) -> list[str]:
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


async def wait_until_served(admin: AIOKafkaAdminClient, names: list[str], *,
                            timeout_s: float = 60.0, poll_s: float = 0.2) -> None:
    """Return once a metadata request shows every topic in ``names`` with a leader for
    each of its partitions; a clear error after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        waiting = unserved(await admin.describe_topics(names), names)
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise TopicSetupError(
                f"the broker does not serve topic(s) {', '.join(waiting)} {timeout_s:g} s "
                "after they were created (no metadata, or a partition without a leader); "
                "check the brokers' controller logs, then start the worker again")
        await asyncio.sleep(poll_s)


def unserved(described: list[Any], names: list[str]) -> list[str]:
    """Names in ``names`` that a metadata response (``describe_topics``) does not show
    ready: missing, answered with an error, without partitions, or a partition leaderless.
    A topic refused for lack of the DESCRIBE ACL is not waited for: the ACL check that
    follows names the missing right."""
    ready = set()
    for topic in described:
        if topic.get("error_code") == TopicAuthorizationFailedError.errno:
            ready.add(topic.get("topic"))
            continue
        partitions = topic.get("partitions") or []
        if (topic.get("error_code") == 0 and partitions
                and all(p.get("error_code") == 0 and p.get("leader", -1) >= 0
                        for p in partitions)):
            ready.add(topic.get("topic"))
    return [n for n in names if n not in ready]


def _topic_errors(response: object) -> list[tuple[str, int, str]]:
    """(name, error code, message) from a CreateTopics response of any version."""
    out = []
    for entry in getattr(response, "topic_errors", []):
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else ""
        out.append((str(name), int(code), str(message or "")))
    return out
