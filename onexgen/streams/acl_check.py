"""At start, ask the broker what this principal may do, and refuse to run without a right.

Without this, a missing ACL shows up later and badly: a missing READ crashes the consumer
thread mid-start, a missing WRITE turns into a publish retry loop. The broker answers the
question directly: Metadata v8 reports each topic's authorized operations and
DescribeGroups v3 the group's (KIP-430), so one round trip each names what is missing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaError
from aiokafka.protocol.admin import DescribeGroupsResponse_v3
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int16, Int32, Schema, String

from onexgen.settings import Settings
from onexgen.streams.errors import KafkaAccessError

# org.apache.kafka.common.acl.AclOperation codes: bit n of authorized_operations.
READ, WRITE, CREATE, DESCRIBE = 3, 4, 5, 8
_NAMES = {READ: "READ", WRITE: "WRITE", CREATE: "CREATE", DESCRIBE: "DESCRIBE"}
_UNKNOWN = -(2**31)  # the broker did not compute them (it has no authorizer)
_TOPIC_AUTHORIZATION_FAILED, _GROUP_AUTHORIZATION_FAILED = 29, 30


class _MetadataResponse_v8(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 3
    API_VERSION = 8
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("brokers", Array(("node_id", Int32), ("host", String("utf-8")), ("port", Int32),
                          ("rack", String("utf-8")))),
        ("cluster_id", String("utf-8")),
        ("controller_id", Int32),
        ("topics", Array(
            ("error_code", Int16), ("topic", String("utf-8")), ("is_internal", Boolean),
            ("partitions", Array(("error_code", Int16), ("partition", Int32), ("leader", Int32),
                                 ("leader_epoch", Int32), ("replicas", Array(Int32)),
                                 ("isr", Array(Int32)), ("offline_replicas", Array(Int32)))),
            ("topic_authorized_operations", Int32))),
        ("cluster_authorized_operations", Int32),
    )


class _MetadataRequest_v8(RequestStruct):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 3
    API_VERSION = 8
    RESPONSE_TYPE = _MetadataResponse_v8
    SCHEMA = Schema(("topics", Array(String("utf-8"))), ("allow_auto_topic_creation", Boolean),
                    ("include_cluster_authorized_operations", Boolean),
                    ("include_topic_authorized_operations", Boolean))


class _DescribeGroupsRequest_v3(RequestStruct):  # type: ignore[misc]  # aiokafka is untyped
    # aiokafka's own v3 request parses the answer as v2, without authorized_operations.
    API_KEY = 15
    API_VERSION = 3
    RESPONSE_TYPE = DescribeGroupsResponse_v3
    SCHEMA = Schema(("groups", Array(String("utf-8"))),
                    ("include_authorized_operations", Boolean))


class _TopicRights(Request[_MetadataRequest_v8]):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 3

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics

    def build(self, request_struct_class: type[_MetadataRequest_v8]) -> _MetadataRequest_v8:
        return request_struct_class(self._topics, False, False, True)


class _GroupRights(Request[_DescribeGroupsRequest_v3]):  # type: ignore[misc]  # untyped base
    API_KEY = 15

    def __init__(self, group: str) -> None:
        self._group = group

    def build(self, request_struct_class: type[_DescribeGroupsRequest_v3]
              ) -> _DescribeGroupsRequest_v3:
        return request_struct_class([self._group], True)


def worker_needs(settings: Settings) -> dict[str, tuple[int, ...]]:
    """Topic -> the operations a worker performs on it (docs/operations.md lists them)."""
    t = settings.topics
    return {
        t.requests: (READ,),
        t.feedback: (READ, WRITE),  # consumed, and automated feedback is published to it
        t.alerts: (READ, WRITE),    # published by the monitor, consumed by the notifier
        t.results: (WRITE,),
        t.dlq: (WRITE,),
    }


async def _coordinator(client: AIOKafkaClient, group: str, timeout_s: float = 30.0) -> Any:
    """The group's coordinator; a fresh broker has none until its offsets topic exists."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await client.coordinator_lookup(CoordinationType.GROUP, group)
        except GroupCoordinatorNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def _missing(granted: int, needed: tuple[int, ...]) -> list[str]:
    return [_NAMES[op] for op in needed if not granted & (1 << op)]


async def check_worker_acls(settings: Settings) -> None:
    """Raise ``KafkaAccessError`` naming the first missing ACL; return when all are held.

    Brokers without an authorizer do not compute rights: then there is nothing to check.
    """
    client = AIOKafkaClient(bootstrap_servers=settings.kafka_bootstrap,
                            client_id=f"{settings.app_id}-acl-check",
                            **settings.kafka_client_kwargs())
    user = settings.kafka_sasl_username or "this client"
    fix = "grant it (docs/operations.md lists a worker's ACLs)"
    try:
        await client.bootstrap()
        node = client.get_random_node()
        needs = worker_needs(settings)
        response: Any = await client.send(node, _TopicRights(list(needs)))
        for error, topic, _, _, granted in response.topics:
            if error == _TOPIC_AUTHORIZATION_FAILED:
                wanted = ", ".join(_NAMES[o] for o in needs[topic])
                raise KafkaAccessError(f"user {user!r} lacks the DESCRIBE ACL on topic "
                                       f"{topic} (and {wanted}): {fix}")
            if granted == _UNKNOWN:
                return
            missing = _missing(granted, needs.get(topic, ()))
            if missing:
                raise KafkaAccessError(f"user {user!r} lacks the {' and '.join(missing)} ACL on "
                                       f"topic {topic}: {fix}")
        coordinator = await _coordinator(client, settings.app_id)
        groups: Any = await client.send(coordinator, _GroupRights(settings.app_id))
        for error, group, *_, granted in groups.groups:
            if error == _GROUP_AUTHORIZATION_FAILED or (
                    granted != _UNKNOWN and _missing(granted, (READ,))):
                raise KafkaAccessError(f"user {user!r} lacks the READ ACL on consumer group "
                                       f"{group}: {fix}")
    except KafkaError as exc:
        if "GroupAuthorizationFailed" in type(exc).__name__:
            raise KafkaAccessError(f"user {user!r} lacks the READ ACL on consumer group "
                                   f"{settings.app_id}: {fix}") from exc
        raise KafkaAccessError(f"could not check the worker's ACLs on "
                               f"{settings.kafka_bootstrap}: {exc}") from exc
    finally:
        await client.close()
