"""Sorting sampled stacks into the components of the per-request CPU breakdown."""

from __future__ import annotations

import pytest

from bench.profile import OTHER, classify, shares


@pytest.mark.parametrize(("stack", "component"), [
    (["run (asyncio/runners.py:1)", "run_batch (onexgen/agents/codegen.py:80)",
      "_process (onexgen/generation/batch.py:150)",
      "publish (onexgen/streams/publisher.py:90)",
      "send_batch (aiokafka/producer/producer.py:540)"], "Kafka produce"),
    (["run (asyncio/runners.py:1)", "_process (onexgen/generation/batch.py:150)",
      "info (structlog/_native.py:10)"], "metrics, monitor, logs"),
    (["run_forever (asyncio/base_events.py:600)",
      "_send_produce_req (aiokafka/producer/sender.py:400)",
      "send (aiokafka/client.py:500)", "send (aiokafka/conn.py:450)",
      "write (asyncio/streams.py:330)"], "Kafka produce"),
    (["_drain_messages (onexgen/streams/faust_internals.py:120)",
      "getmany (faust/transport/drivers/aiokafka.py:900)"],
     "Kafka consume (client, Faust consumer, conductor, streams, acks)"),
    (["_readable (onexgen/procpool/channel.py:120)", "_on_message (onexgen/procpool/pool.py:250)"],
     "pool hand-off"),
    (["run_forever (asyncio/base_events.py:600)"], OTHER),
    (["main (bench/plain_pipeline.py:1)", "run (asyncio/runners.py:1)"], OTHER),
    (["execute_from_commandline (mode/worker.py:1)",
      "codegen (onexgen/agents/codegen.py:1)", "info (structlog/_native.py:1)"],
     "metrics, monitor, logs"),
])
def test_classify_innermost_known_frame_names_the_component(stack: list[str],
                                                            component: str) -> None:
    assert classify(stack) == component


def test_shares_weigh_each_stack_by_its_sample_count() -> None:
    raw = ("a (x.py:1);send (aiokafka/producer/producer.py:1) 3\n"
           "a (x.py:1);b (asyncio/events.py:1) 1\n")
    found, total = shares(raw)
    assert total == 4
    assert found == {"Kafka produce": 0.75, OTHER: 0.25}
