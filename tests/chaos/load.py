"""Request load and result accounting for the fault tests."""

from __future__ import annotations

import orjson

from tests.harness.kafka import Outgoing, produce

MIXINS = {"effect": ["Retry", "HealthCheck"], "compute": ["Validation"],
          "reducer": ["Metrics"], "orchestrator": ["EventBus", "Timeout"]}


def requests(tag: str, start: int, n: int) -> list[Outgoing]:
    out: list[Outgoing] = []
    for i in range(start, start + n):
        node_type = list(MIXINS)[i % 4]
        rid = f"{tag}-{i}"
        body = {"request_id": rid, "node_type": node_type, "name": f"Load{i}", "domain": "chaos",
                "description": "fault test", "mixins": MIXINS[node_type],
                "operations": [{"name": "work", "description": ""}]}
        out.append((rid.encode(), orjson.dumps(body), [("correlation-id", f"c-{rid}".encode())]))
    return out


async def send(bootstrap: str, topic: str, tag: str, start: int, n: int) -> None:
    await produce(bootstrap, topic, requests(tag, start, n))
