"""Moving the alert manager between workers: offsets follow delivery, inherited resolves.

The service holds each consumed alert that changed something until its groups
flushed and what they queued left the delivery queue; a manager that took the
alerts over notifies the resolution of an episode begun before it (the previous
holder may have notified it firing).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types import TP

from onexgen.alerting.config import ManagerConfig
from onexgen.alerting.extras import Extras
from onexgen.alerting.handoff import AlertmanagerHandoff
from onexgen.alerting.manager import AlertManager
from onexgen.alerting.receivers.base import Notification
from onexgen.alerting.service import AlertManagerService
from onexgen.models.wire import dump_json
from tests.harness.receivers import wait_until
from tests.unit.alerting.conftest import FakeClock, make_alert, manager_config


class Gate:
    """A receiver that takes notifications only while ``open`` (else waits)."""

    def __init__(self) -> None:
        self.name = "ops/webhook/0"
        self.send_resolved = True
        self.open = asyncio.Event()
        self.taken: list[Notification] = []

    async def send(self, notification: Notification) -> None:
        await self.open.wait()
        self.taken.append(notification)

    async def close(self) -> None:
        """Nothing to close."""


def _service(clock: FakeClock, gate: Gate) -> AlertManagerService:
    config = ManagerConfig.model_validate(manager_config(receivers=[
        {"name": "ops", "webhook_configs": [{"url": "http://127.0.0.1:9/x"}]}]))
    service = AlertManagerService(config, extras=Extras(), clock=clock)
    assert list(service.delivery.receivers) == [gate.name]
    service.delivery.receivers[gate.name] = gate  # in the webhook's place
    return service


async def fire_and_deliver(service: AlertManagerService, clock: FakeClock, gate: Gate,
                           rules: dict[str, str]) -> list[object]:
    """Each rule fires (consumed with its token), its group flushes, the open gate takes
    the notifications; what the service then settles."""
    for token, rule in rules.items():
        service.handle(dump_json(make_alert(rule)), token=token)
    clock.advance(1)
    await service.tick()
    await wait_until(lambda: len(gate.taken) == len(rules), 5, "the firing notifications")
    return service.settled()


async def test_settled_holds_alert_until_its_notification_is_delivered(
        clock: FakeClock) -> None:
    gate = Gate()
    service = _service(clock, gate)
    service.start()
    try:
        assert service.handle(dump_json(make_alert("cache_low")), token="f1")
        assert not service.handle(dump_json(make_alert("cache_low")), token="dup")
        # a keep-alive changes nothing, but is not committed ahead of the alert before it
        assert service.settled() == []
        clock.advance(1)
        assert await service.tick() == 1  # group_wait passed: the notification is queued
        assert service.settled() == [] and service.held == 2  # queued is not delivered
        gate.open.set()
        await wait_until(lambda: len(gate.taken) == 1, 5, "the delivery")
        assert service.settled() == ["f1", "dup"]
        assert service.held == 0
    finally:
        gate.open.set()
        await service.stop(1.0)


async def test_settled_holds_resolve_until_group_flushes_and_delivers(clock: FakeClock) -> None:
    gate = Gate()
    gate.open.set()
    service = _service(clock, gate)
    service.start()
    try:
        assert await fire_and_deliver(service, clock, gate, {"f1": "cache_low"}) == ["f1"]
        service.handle(dump_json(make_alert("cache_low", status="resolved")), token="r1")
        assert service.settled() == []  # its group flushes at the next group_interval
        clock.advance(5)
        await service.tick()
        await wait_until(lambda: len(gate.taken) == 2, 5, "the resolved notification")
        assert service.settled() == ["r1"]
        assert [n.status for n in gate.taken] == ["firing", "resolved"]
    finally:
        await service.stop(1.0)


async def test_settled_hands_tokens_back_in_consumption_order(clock: FakeClock) -> None:
    """A resolve held at offset n, a keep-alive at n+1: nothing commits until n is delivered.

    Faust would commit n+2 from an ack of n+1 alone (see the next test)."""
    gate = Gate()
    gate.open.set()
    service = _service(clock, gate)
    service.start()
    try:
        assert await fire_and_deliver(service, clock, gate, {
            "f1": "cache_low", "g1": "queue_high"}) == ["f1", "g1"]
        gate.open.clear()
        service.handle(dump_json(make_alert("cache_low", status="resolved")), token="r1")
        assert not service.handle(dump_json(make_alert("queue_high")), token="keep-alive")
        clock.advance(5)
        await service.tick()
        assert service.settled() == []  # the resolve is queued, not delivered
        gate.open.set()
        await wait_until(lambda: len(gate.taken) == 3, 5, "the resolved notification")
        assert service.settled() == ["r1", "keep-alive"]
    finally:
        gate.open.set()
        await service.stop(1.0)


def test_faust_commits_past_an_unacked_offset_right_after_its_last_commit() -> None:
    """Why tokens come back in order: faust-streaming 0.15.3's consumer, committed up to
    36 (offsets 0..35 done), with 37 acknowledged and 36 not, commits 38.

    If this fails, faust-streaming fixed ``Consumer._new_offset``; the in-order
    hand-back stays correct either way."""
    tp = TP("alerts", 0)
    state = SimpleNamespace(  # the attributes _new_offset reads, as after a commit of 36
        _acked=defaultdict(list, {tp: [37]}), _acked_index=defaultdict(set, {tp: {37}}),
        _gap=defaultdict(list), _committed_offset=defaultdict(lambda: None, {tp: 36}))
    assert Consumer._new_offset(state, tp) == 38  # type: ignore[arg-type]


def test_release_hands_back_every_token_held_or_settled(clock: FakeClock) -> None:
    service = _service(clock, Gate())
    service.handle(dump_json(make_alert("cache_low")), token="f1")
    service.handle(b"not an alert", token="junk")
    assert service.release() == ["f1", "junk"]  # in consumption order
    assert service.held == 0 and service.settled() == []


def _manager(clock: FakeClock) -> tuple[AlertManager, list[Notification]]:
    sent: list[Notification] = []
    return AlertManager(ManagerConfig.model_validate(manager_config()), sent.append,
                        clock=clock), sent


def test_resolve_of_episode_begun_before_takeover_is_notified(clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    started = clock.now
    clock.advance(30)  # this manager takes over 30 s into the episode
    assert manager.ingest(make_alert("cache_low", status="resolved", starts_at=started))
    clock.advance(1)
    manager.flush()
    assert [n.status for n in sent] == ["resolved"]
    clock.advance(10)
    manager.flush()
    assert len(sent) == 1  # once


def test_resolve_of_episode_begun_after_takeover_unnotified_sends_nothing(
        clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    manager.ingest(make_alert("other"))  # the takeover
    clock.advance(5)
    begun = clock.now
    manager.ingest(make_alert("cache_low", starts_at=begun))
    manager.ingest(make_alert("cache_low", status="resolved", starts_at=begun))
    clock.advance(1)
    manager.flush()
    assert [n.alerts[0].rule for n in sent] == ["other"]  # cache_low never notified firing


def test_reset_after_partition_lost_nothing_renotified_or_resolved(clock: FakeClock) -> None:
    manager, sent = _manager(clock)
    manager.ingest(make_alert("cache_low"))
    clock.advance(1)
    manager.flush()
    manager.reset()  # another worker took the alerts over; no more re-sends reach us
    clock.advance(3600)  # past repeat_interval and resolve_timeout
    manager.flush()
    assert [n.status for n in sent] == ["firing"]
    assert manager.alerts == {} and manager.groups == {}


def test_handoff_partition_lost_stops_reposting_firing() -> None:
    handoff = AlertmanagerHandoff("http://127.0.0.1:9")
    handoff.handle(dump_json(make_alert("cache_low")))
    handoff.handle(dump_json(make_alert("latency_high")))
    handoff.handle(dump_json(make_alert("latency_high", status="resolved")))
    handoff.partition_lost()
    assert handoff.firing == {}
    assert list(handoff.resolved) == [make_alert("latency_high").fingerprint]  # still posted
