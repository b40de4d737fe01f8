"""``streams.lean``: the raw schema decodes as Faust's raw codec does; the lean monitor keeps
what Faust's consumer reads and nothing else; the worker's app uses both."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from onexgen.settings import Settings
from onexgen.streams.app import create_app, feedback_topic, requests_topic
from onexgen.streams.lean import LeanMonitor, RawSchema


def _app() -> faust.App:
    return faust.App("onexgen-test-lean", broker="kafka://127.0.0.1:1")


def _message(key: bytes | None, value: bytes | None, headers: Any) -> Message:
    return Message("t.requests", 2, 41, 1_700_000_000.0, 0, headers, key, value, None)


def _decode(schema: faust.Schema[Any, Any], app: faust.App, message: Message) -> Any:
    async def decode() -> Any:
        return await schema.compile(app)(message, propagate=True)
    return asyncio.run(decode())


@pytest.mark.parametrize("key, value, headers", [
    (b"k-1", b'{"request_id": "r"}', [("correlation_id", b"c-1"), ("x", b"")]),
    (None, b"\x00\xff not json", []),
    (b"k-2", None, None),
])
def test_decode_raw_message_gives_the_event_fausts_raw_codec_gives(
        key: bytes | None, value: bytes | None, headers: Any) -> None:
    app = _app()
    message = _message(key, value, headers)
    faust_schema: faust.Schema[Any, Any] = faust.Schema(key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw")
    theirs = _decode(faust_schema, app, message)
    ours = _decode(RawSchema(), app, message)
    assert type(ours) is type(theirs)
    assert (ours.key, ours.value, ours.headers, ours.message) == (
        theirs.key, theirs.value, theirs.headers, theirs.message)
    assert ours.value is message.value  # the bytes themselves, not a copy


def test_lean_monitor_records_only_when_a_stream_last_took_an_event() -> None:
    monitor = LeanMonitor()
    tp = TP("t.requests", 2)
    message = _message(b"k", b"v", [])
    monitor.on_message_in(tp, 41, message)
    state = monitor.on_stream_event_in(tp, 41, None, None)  # type: ignore[arg-type]
    assert state is None
    first = monitor.stream_inbound_time[tp]
    monitor.on_stream_event_out(tp, 41, None, None, state)  # type: ignore[arg-type]
    monitor.on_message_out(tp, 41, message)
    monitor.on_stream_event_in(tp, 42, None, None)  # type: ignore[arg-type]
    assert monitor.stream_inbound_time[tp] >= first
    assert (monitor.messages_received_total, monitor.events_total) == (0, 0)
    assert message.time_in is None and not monitor.events_runtime


def test_create_app_consumes_raw_topics_with_the_lean_monitor() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1")
    app = create_app(settings)
    assert isinstance(app.monitor, LeanMonitor)
    for topic in (requests_topic(app, settings), feedback_topic(app, settings)):
        assert isinstance(topic.schema, RawSchema)
        assert (topic.key_type, topic.value_type) == (bytes, bytes)
