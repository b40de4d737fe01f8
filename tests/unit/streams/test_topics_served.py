"""Which topics a metadata response shows ready to consume (``streams.topics.unserved``)."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import TopicAuthorizationFailedError, UnknownTopicOrPartitionError

from onexgen.streams.topics import unserved


def _topic(name: str, error: int = 0, leaders: tuple[int, ...] = (1, 1)) -> dict[str, Any]:
    return {"error_code": error, "topic": name, "is_internal": False,
            "partitions": [{"error_code": 0, "partition": i, "leader": leader,
                            "replicas": [1], "isr": [1]} for i, leader in enumerate(leaders)]}


def test_unserved_all_topics_with_leaders_none_waiting() -> None:
    assert unserved([_topic("a"), _topic("b")], ["a", "b"]) == []


def test_unserved_topic_missing_from_response_is_waited_for() -> None:
    assert unserved([_topic("a")], ["a", "b"]) == ["b"]


def test_unserved_unknown_topic_error_is_waited_for() -> None:
    unknown = _topic("b", error=UnknownTopicOrPartitionError.errno, leaders=())
    assert unserved([_topic("a"), unknown], ["a", "b"]) == ["b"]


def test_unserved_partition_without_leader_is_waited_for() -> None:
    assert unserved([_topic("a", leaders=(1, -1))], ["a"]) == ["a"]


def test_unserved_topic_without_partitions_is_waited_for() -> None:
    assert unserved([_topic("a", leaders=())], ["a"]) == ["a"]


def test_unserved_topic_refused_by_acl_left_to_the_acl_check() -> None:
    refused = _topic("a", error=TopicAuthorizationFailedError.errno, leaders=())
    assert unserved([refused], ["a"]) == []
