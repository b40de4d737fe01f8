"""One Kafka result watcher for tests and benchmarks.

Follows a results topic and records, per key, when it was first seen
(``time.perf_counter()``) and, if asked, every value. ``from_start`` reads the
topic from its beginning and survives a broker restart (the chaos tests stop
the broker under it: the watcher reconnects and reads everything again);
otherwise it reads only what arrives after ``start`` (the benchmarks time
results from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition


class ResultWatcher:
    """Consumes ``topic``; ``seen`` maps key -> first-seen time, ``values`` key -> values."""

    def __init__(self, bootstrap: str, topic: str, *, key_prefix: str | bytes = b"",
                 from_start: bool = False, keep_values: bool = False,
                 security: dict[str, Any] | None = None) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.security = security or {}
        """``Settings.kafka_client_kwargs()`` for a secured broker."""
        self.prefix = key_prefix.encode() if isinstance(key_prefix, str) else key_prefix
        self.from_start, self.keep_values = from_start, keep_values
        self.seen: dict[bytes, float] = {}
        self.values: dict[bytes, list[bytes]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Returns once the watcher is positioned: nothing produced after this is missed."""
        self._task = asyncio.create_task(self._follow())
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises what stopped it

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> ResultWatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def distinct(self) -> int:
        return len(self.seen)

    async def wait_for(self, count: int, timeout_s: float) -> int:
        """Waits until ``count`` distinct keys were seen or time runs out; how many were."""
        deadline = time.monotonic() + timeout_s
        # Polls a count another task grows; an Event per target count would be no simpler.
        while len(self.seen) < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return len(self.seen)

    async def expect(self, count: int, timeout_s: float) -> None:
        """Like ``wait_for``, but ``TimeoutError`` when fewer than ``count`` arrive."""
        if await self.wait_for(count, timeout_s) < count:
            raise TimeoutError(f"only {len(self.seen)}/{count} results in {timeout_s}s")

    def all_succeeded(self) -> bool:
        """Every kept result (the first value per key) has status ``succeeded``."""
        return all(orjson.loads(vs[0])["status"] == "succeeded" for vs in self.values.values())

    def duplicates_identical(self) -> bool:
        """Every re-delivered result is byte-identical to the first one."""
        return all(len(set(vs)) == 1 for vs in self.values.values())

    async def _follow(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                        enable_auto_commit=False, fetch_max_wait_ms=20,
                                        **self.security)
            try:
                await consumer.start()
                await self._position(consumer)
                self._ready.set()
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not (self.from_start and self._ready.is_set()):
                    raise
                # The broker went away: read everything again once it is back.
                self.seen.clear()
                self.values.clear()
                await asyncio.sleep(1)
            finally:
                await consumer.stop()

    async def _position(self, consumer: AIOKafkaConsumer) -> None:
        parts = consumer.partitions_for_topic(self.topic) or set()
        while not parts:  # the topic was just created
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in parts]
        consumer.assign(tps)
        if self.from_start:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    if r.key is None or not r.key.startswith(self.prefix):
                        continue
                    self.seen.setdefault(r.key, now)
                    if self.keep_values and r.value is not None:
                        self.values[r.key].append(r.value)
