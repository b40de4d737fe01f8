"""Everything a worker process holds besides the Faust app, started and stopped with it.

A ``mode.Service`` attached to the app: Faust starts it with the worker and
stops it on shutdown. Faust stops services added at run time *before* its own
(the agents among them), so ``on_stop`` first stops the services named in
``stop_first`` (the worker puts the app's agents there; stopping twice is a
no-op): the publisher, database and pool close only when no agent can still
use them (a feedback agent still loading its models at start, say).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import mode
import structlog
from prometheus_client import CollectorRegistry

from onexgen.agents.web import WebServer
from onexgen.generation.batch import BatchProcessor
from onexgen.generation.engine import engine_config
from onexgen.generation.persist import RowSink
from onexgen.generation.pool import GenerationPool
from onexgen.learning.mixins.model import to_bytes
from onexgen.learning.models_store import ModelStore
from onexgen.learning.patterns.persist import to_bytes as detector_bytes
from onexgen.models.rows import EventMetricRow
from onexgen.observability.metrics import PipelineMetrics
from onexgen.observability.monitor import Monitor
from onexgen.observability.tracing import process_tracing
from onexgen.settings import Settings
from onexgen.storage.partitions import maintain_partitions
from onexgen.storage.pool import Database
from onexgen.storage.repositories.models import RequestLogRepository
from onexgen.streams.publisher import Publisher
from onexgen.support.heap import (
    WORKER_YOUNG_COLLECTION_EVERY,
    collect_young_every,
    freeze_startup_heap,
)

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
        self.pool = GenerationPool(
            settings.codegen_workers, job_timeout_s=settings.codegen_job_timeout_s,
            registry=self.registry, min_chunk=settings.codegen_min_chunk,
            config=engine_config(settings))
        self.publisher = Publisher(settings)
        self.event_sink: RowSink[EventMetricRow] = RowSink("event_metrics", self._write_events)
        self.request_sink: RowSink[tuple[str, bytes]] = RowSink(
            "request_log", self._write_requests, max_buffer=100_000)
        self._background: list[asyncio.Task[None]] = []
        self.tracing = process_tracing(settings)
        self.batch_processor = BatchProcessor(
            topics=settings.topics, pool=self.pool, publisher=self.publisher, metrics=self.metrics,
            event_sink=self.event_sink, monitor=self.monitor, request_sink=self.request_sink,
            tracing=self.tracing or False,
        )
        self.web = WebServer(settings, self.registry, ready=self.is_ready)
        self._ready = asyncio.Event()
        self.stop_first: list[mode.ServiceT] = []
        super().__init__(**kwargs)  # type: ignore[arg-type]  # mode's kwargs are loosely typed

    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def _write_events(self, rows: list[EventMetricRow]) -> int:
        return await self.database.events.write_many(rows)

    async def _write_requests(self, rows: list[tuple[str, bytes]]) -> int:
        await RequestLogRepository(self.database.pool).remember_many(rows)
        return len(rows)

    async def _flush_template_stats(self, interval_s: float = 10.0) -> None:
        """Template-cache counters of the pool processes: to the monitor's windows (the
        ``cache_hit_rate`` and ``template_load_*`` rules) and ``template_cache_metadata``."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                updates = await self.pool.collect_template_updates()
                if not updates:
                    continue
                self.monitor.observe_cache("templates", sum(u.cache_hits for u in updates),
                                           sum(u.cache_misses for u in updates))
                for u in updates:
                    if u.load_time_ms is not None:
                        self.monitor.observe("template_load_duration_ms", u.load_time_ms)
                await self.database.templates.write_many(updates)
            except Exception as exc:  # statistics must never stop the worker
                log.warning("template_stats_failed", error=str(exc), error_type=type(exc).__name__)

    async def _housekeeping(self, interval_s: float = 3600.0) -> None:
        """Hourly: partitions for the coming days, expired metric partitions and old request
        texts dropped (retention ``ONEXGEN_METRICS_RETENTION_DAYS``). Idempotent, so every
        worker may run it."""
        days = self.settings.metrics_retention_days
        while True:
            try:
                done = await maintain_partitions(self.database.pool, retention_days=days)
                pruned = await RequestLogRepository(self.database.pool).prune(days)
                log.info("housekeeping", partitions_created=done.created,
                         partitions_dropped=done.dropped, request_log_pruned=pruned)
            except Exception as exc:  # retried next hour; never stops the worker
                log.warning("housekeeping_failed", error=str(exc), error_type=type(exc).__name__)
            await asyncio.sleep(interval_s)

    async def _stored_detector(self) -> bytes | None:
        """The newest stored pattern detector (else pool processes train the default one)."""
        loaded = await ModelStore(self.database.pool).latest_detector()
        log.info("pattern_detector_for_pool", version=loaded.version if loaded else None)
        return detector_bytes(loaded.detector) if loaded else None

    async def _stored_mixin_model(self) -> bytes | None:
        """The newest stored mixin model, so every pool process uses the same version."""
        if self.settings.mixin_policy == "off":
            return None
        loaded = await ModelStore(self.database.pool).latest_mixin_model()
        log.info("mixin_model_for_pool", version=loaded.version if loaded else None)
        return to_bytes(loaded.model) if loaded else None

    async def on_start(self) -> None:
        await self.web.start()
        s = self.settings
        self.database = await Database.open(s.database_url.get_secret_value(),
                                            min_size=s.database_pool_min,
                                            max_size=s.database_pool_max)
        self.event_sink.start()
        self.request_sink.start()
        self.pool.config = replace(self.pool.config, mixin_model=await self._stored_mixin_model(),
                                   pattern_model=await self._stored_detector())
        loop = asyncio.get_running_loop()
        await self.pool.start()  # spawns and warms its processes: a second or two, awaited
        await self.pool.run([(b"{}", "warmup")] * self.pool.size)
        await self.publisher.start()
        self._background = [asyncio.create_task(self._flush_template_stats()),
                       asyncio.create_task(self._housekeeping())]
        # Everything alive now lives as long as the worker: keep full collections off it.
        frozen = freeze_startup_heap()
        collect_young_every(WORKER_YOUNG_COLLECTION_EVERY)  # support.heap: CPU it saves
        self._ready.set()
        log.info("worker_ready", pool_size=self.pool.size, web_port=self.web.port,
                 event_loop=type(loop).__module__.split(".")[0],
                 requests_topic=self.settings.topics.requests, frozen_objects=frozen)

    async def on_stop(self) -> None:
        self._ready.clear()
        for service in self.stop_first:
            await service.stop()
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.publisher.stop()
        await self.event_sink.stop()
        await self.request_sink.stop()
        await self.database.close()
        if self.tracing is not None:
            self.tracing.shutdown()  # flushes the spans still queued for export
        await self.pool.stop()
        await self.web.stop()
        log.info("worker_stopped")
