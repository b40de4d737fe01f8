"""Request load and result accounting for the fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict

import orjson
from aiokafka import AIOKafkaConsumer

from tests.integration.kafka_io import Outgoing, produce

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


class Results:
    """Follows a results topic from the beginning; every value seen, per request id."""

    def __init__(self, bootstrap: str, topic: str, tag: str) -> None:
        self.bootstrap, self.topic, self.prefix = bootstrap, topic, f"{tag}-".encode()
        self.values: dict[bytes, list[bytes]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Results:
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self) -> None:
        while True:  # survives a broker restart: reconnect and re-read from the start
            consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap,
                                        group_id=None, auto_offset_reset="earliest",
                                        enable_auto_commit=False)
            seen_offsets: set[tuple[int, int]] = set()
            try:
                await consumer.start()
                while True:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        for r in records:
                            if (r.partition, r.offset) in seen_offsets:
                                continue
                            seen_offsets.add((r.partition, r.offset))
                            if r.key and r.key.startswith(self.prefix):
                                self.values[r.key].append(r.value)
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker went away: start over once it is back
                self.values.clear()
                await asyncio.sleep(1)
            finally:
                await consumer.stop()

    @property
    def distinct(self) -> int:
        return len(self.values)

    async def wait_for(self, count: int, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while self.distinct < count and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a count the follower task grows
            await asyncio.sleep(0.1)
        return self.distinct

    def all_succeeded(self) -> bool:
        return all(orjson.loads(vs[0])["status"] == "succeeded" for vs in self.values.values())

    def duplicates_identical(self) -> bool:
        """Every re-delivered result is byte-identical to the first one."""
        return all(len(set(vs)) == 1 for vs in self.values.values())
