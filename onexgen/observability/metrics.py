"""Prometheus metrics of the request pipeline, on an injectable registry.

Naming follows the Prometheus conventions: ``onexgen_`` prefix, base units
(seconds, bytes), ``_total`` on counters (prometheus-client appends it),
``_seconds`` on durations. Label values must stay bounded: topics, statuses,
error *types* - never ids or messages, each value is a new time series.

Every metric set is a :class:`MetricSet` bound to one ``CollectorRegistry``:
the worker uses the process default (scraped at ``/metrics``), tests pass a
fresh registry so each starts from zero and never collides with another. More
stage metrics (codegen, storage, alerts) are added as further subclasses
using the same ``counter`` / ``histogram`` / ``gauge`` helpers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from onexgen.models.wire import ResultStatus

__all__ = [
    "BATCH_SIZE_BUCKETS",
    "PRODUCE_BUCKETS",
    "REQUEST_BUCKETS",
    "MetricSet",
    "PipelineMetrics",
    "default_metrics",
    "render_metrics",
]

NAMESPACE = "onexgen"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

BATCH_SIZE_BUCKETS: Sequence[float] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
                                       10000)
"""Messages per batch: ``take(N)`` allows 1..10 000 (``ONEXGEN_BATCH_SIZE``)."""
REQUEST_BUCKETS: Sequence[float] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                                    60, 120)
"""Request and batch latencies: milliseconds (cache hit) up to the 2-minute pathological case."""
PRODUCE_BUCKETS: Sequence[float] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5, 1, 2.5, 5)
"""Kafka acknowledgement latencies: sub-millisecond on loopback, seconds when degraded."""


class MetricSet:
    """Creates metrics named ``onexgen_<name>`` on one registry and checks the names.

    The checks catch convention slips at import time instead of on a dashboard:
    counters are named without ``_total`` (the client adds it) and duration
    histograms end in ``_seconds``.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY

    @staticmethod
    def _check(name: str) -> None:
        if not _NAME.match(name) or name.startswith(f"{NAMESPACE}_"):
            raise ValueError(
                f"metric name {name!r}: use lower snake_case without the {NAMESPACE}_ prefix "
                "(it is added)"
            )

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        self._check(name)
        if name.endswith("_total"):
            raise ValueError(f"counter {name!r}: drop '_total', prometheus-client appends it")
        return Counter(name, documentation, labelnames=labels, namespace=NAMESPACE,
                       registry=self.registry)

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        *,
        buckets: Sequence[float] = REQUEST_BUCKETS,
    ) -> Histogram:
        self._check(name)
        if "duration" in name and not name.endswith("_seconds"):
            raise ValueError(f"histogram {name!r}: durations are in seconds, end it in _seconds")
        return Histogram(name, documentation, labelnames=labels, namespace=NAMESPACE,
                         registry=self.registry, buckets=buckets)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        self._check(name)
        return Gauge(name, documentation, labelnames=labels, namespace=NAMESPACE,
                     registry=self.registry)


class PipelineMetrics(MetricSet):
    """What the codegen pipeline does: consumed, produced, dead-lettered, how long, how many.

    Durations are observed by the caller with ``time.perf_counter()`` deltas
    (or ``histogram.time()``); queue wait and end-to-end latency start at the
    request's Kafka timestamp, so they include time spent waiting in the topic.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.messages_consumed = self.counter(
            "messages_consumed", "Messages read from Kafka.", ["topic"])
        self.results_produced = self.counter(
            "results_produced", "Results acknowledged by Kafka, by result status.", ["status"])
        self.dead_letters = self.counter(
            "dead_letters", "Messages sent to the dead-letter topic, by error type.", ["reason"])
        self.batch_size = self.histogram(
            "batch_size_messages", "Messages per processed batch.", buckets=BATCH_SIZE_BUCKETS)
        self.batch_duration = self.histogram(
            "batch_processing_duration_seconds",
            "From receiving a batch to all its results and dead letters acknowledged.")
        self.request_duration = self.histogram(
            "request_duration_seconds",
            "End to end per request: from its Kafka timestamp to its result acknowledged.")
        self.queue_wait = self.histogram(
            "queue_wait_duration_seconds",
            "From a request's Kafka timestamp to the start of its processing.")
        self.produce_duration = self.histogram(
            "produce_duration_seconds", "From send to broker acknowledgement, per topic.",
            ["topic"], buckets=PRODUCE_BUCKETS)
        self.in_flight = self.gauge(
            "requests_in_flight", "Requests consumed but not yet answered.")
        for status in ResultStatus:  # present at zero from the start: rate() needs a baseline
            self.results_produced.labels(status=status.value)

    def observe_batch(self, size: int, duration_s: float) -> None:
        """One processed batch of ``size`` messages that took ``duration_s`` seconds."""
        self.batch_size.observe(size)
        self.batch_duration.observe(duration_s)

    @contextmanager
    def requests_in_flight(self, count: int = 1) -> Iterator[None]:
        """Count ``count`` requests as in flight for the block, also when it raises."""
        self.in_flight.inc(count)
        try:
            yield
        finally:
            self.in_flight.dec(count)


@functools.cache
def default_metrics() -> PipelineMetrics:
    """The worker's metrics on the process-wide default registry, created once on first use.

    Created lazily so that importing this module registers nothing: tests that
    build ``PipelineMetrics(CollectorRegistry())`` never clash with it.
    """
    return PipelineMetrics(REGISTRY)


def render_metrics(
    registry: CollectorRegistry | None = None, accept: str | None = None
) -> tuple[bytes, str]:
    """The ``/metrics`` response: payload and ``Content-Type``.

    ``accept`` is the scraper's ``Accept`` header: OpenMetrics when Prometheus
    asks for it, the classic text format otherwise.
    """
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry if registry is not None else REGISTRY), content_type


class ConsumerMetrics(MetricSet):
    """Where each consumed partition stands: end of log, our position, our commit, the lag."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        labels = ["topic", "partition"]
        self.high_watermark = self.gauge(
            "consumer_high_watermark_offset", "Next offset the broker will write.", labels)
        self.position = self.gauge(
            "consumer_position_offset", "Next offset this worker will read.", labels)
        self.committed = self.gauge(
            "consumer_committed_offset", "Offset committed for the consumer group.", labels)
        self.lag = self.gauge(
            "consumer_lag_messages", "Messages on the partition not yet processed.", labels)
