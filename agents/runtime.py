"""Everything a worker process holds besides the Faust app, started and stopped with it.

A ``mode.Service`` attached to the app: Faust starts it with the worker and stops
it on shutdown (after the agents), so the publisher is flushed and the pool
drained only when no batch can still need them.
"""

from __future__ import annotations

import asyncio

import mode
import structlog
from prometheus_client import CollectorRegistry

from agents.web import WebServer
from models.rows import EventMetricRow
from observability.metrics import PipelineMetrics
from observability.monitor import Monitor
from onexgen.settings import Settings
from pipeline.batch import BatchProcessor
from pipeline.persist import RowSink
from pipeline.pool import GenerationPool
from storage.pool import Database
from streams.publisher import Publisher

log = structlog.get_logger("onexgen.runtime")


class WorkerRuntime(mode.Service):
    """Pool, publisher, database, metric sinks and web server of one worker."""

    database: Database

    def __init__(self, settings: Settings, *, registry: CollectorRegistry | None = None,
                 **kwargs: object) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = PipelineMetrics(self.registry)
        self.monitor = Monitor(self.registry)
        self.pool = GenerationPool(settings.codegen_workers)
        self.publisher = Publisher(settings)
        self.event_sink: RowSink[EventMetricRow] = RowSink("event_metrics", self._write_events)
        self.batch_processor = BatchProcessor(
            topics=settings.topics, pool=self.pool, publisher=self.publisher, metrics=self.metrics,
            event_sink=self.event_sink, monitor=self.monitor,
        )
        self.web = WebServer(settings, self.registry, ready=self.is_ready)
        self._ready = asyncio.Event()
        super().__init__(**kwargs)  # type: ignore[arg-type]  # mode's kwargs are loosely typed

    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _write_events(self, rows: list[EventMetricRow]) -> int:
        return await self.database.events.write_many(rows)

    async def on_start(self) -> None:
        await self.web.start()
        s = self.settings
        self.database = await Database.open(s.database_url.get_secret_value(),
                                            min_size=s.database_pool_min,
                                            max_size=s.database_pool_max)
        self.event_sink.start()
        loop = asyncio.get_running_loop()
        # Spawning and warming the pool takes a second or two: not on the event loop.
        await loop.run_in_executor(None, self.pool.start)
        await self.pool.run([(b"{}", "warmup")] * self.pool.size)
        await self.publisher.start()
        self._ready.set()
        log.info("worker_ready", pool_size=self.pool.size, web_port=self.web.port,
                 requests_topic=self.settings.topics.requests)

    async def on_stop(self) -> None:
        self._ready.clear()
        await self.publisher.stop()
        await self.event_sink.stop()
        await self.database.close()
        await asyncio.get_running_loop().run_in_executor(None, self.pool.stop)
        await self.web.stop()
        log.info("worker_stopped")
