"""The live figures alert rules read, and the stage/cache/model metrics behind them.

Components report what they see; the monitor keeps a sliding window per figure
(:mod:`onexgen.observability.windows`) and answers "what is ``metric`` now?"
for the rule engine, the dashboard and the ``onexgen_monitor_value`` gauge.
Reporting is a few appends - safe on the hot path - and every call also feeds
the matching Prometheus metric so Prometheus and the in-process rules see the
same events:

* the batch processor: :meth:`Monitor.observe_batch` once per batch;
* any stage: :meth:`Monitor.observe_stage` (duration and outcome per stage), or
  :meth:`Monitor.observe_stage_many` for a batch's per-item durations;
* caches: :meth:`Monitor.observe_cache` (hits and misses);
* models and evaluators: :meth:`Monitor.set_gauge` (accuracy, precision, ...);
* anything else: :meth:`Monitor.observe` / :meth:`Monitor.observe_ratio`;
* agents: :meth:`Monitor.record_progress` (last offset processed per partition,
  which the liveness health check compares with the partition's lag).

How each figure is windowed is declared once in :data:`FIGURES`; an unknown
figure gets a 5-minute mean (observe) or a plain gauge (set_gauge), so a new
rule on a new figure needs no code change here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from onexgen.observability.histograms import observe_many
from onexgen.observability.metrics import MetricSet
from onexgen.observability.windows import Aggregate, Clock, GaugeValue, RatioWindow, SampleWindow

__all__ = ["FIGURES", "STAGES", "Figure", "Monitor", "MonitorMetrics"]

STAGES = ("consume", "validate", "detect", "predict", "render", "validate_code", "produce",
          "persist")
"""Pipeline stages with their own duration histogram; a bounded label set."""

STAGE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class Figure:
    """How one live figure is kept: ``kind`` sample/ratio/gauge, window span, aggregate."""

    kind: str
    span_s: float = 300.0
    aggregate: Aggregate = "mean"
    stale_after_s: float | None = None


FIGURES: dict[str, Figure] = {
    "event_latency_p95_ms": Figure("sample", 60.0, "p95"),
    "event_latency_p50_ms": Figure("sample", 60.0, "p50"),
    "event_latency_p99_ms": Figure("sample", 60.0, "p99"),
    "event_success_rate": Figure("ratio", 60.0),
    "throughput_per_s": Figure("sample", 10.0, "rate"),
    "batch_duration_ms": Figure("sample", 60.0, "p95"),
    "generation_duration_ms": Figure("sample", 60.0, "mean"),
    "template_load_duration_ms": Figure("sample", 60.0, "p95"),
    "cache_hit_rate": Figure("ratio", 300.0),
    "validation_pass_rate": Figure("ratio", 300.0),
    "dead_letter_rate": Figure("ratio", 60.0),
    "parallel_speedup": Figure("gauge"),
    # Judged on feedback as it arrives: ratios over the last hour (the rules hold 30 min).
    "mixin_accuracy": Figure("ratio", 3600.0),
    "compatibility_score": Figure("gauge"),
    "pattern_precision": Figure("ratio", 3600.0),
    "false_positive_rate": Figure("ratio", 3600.0),
    "quality_score": Figure("gauge"),
}
_REPORTERS = {"sample": "observe()", "ratio": "observe_ratio()", "gauge": "set_gauge()"}
_LATENCY_FIGURES = ("event_latency_p50_ms", "event_latency_p95_ms", "event_latency_p99_ms")


class MonitorMetrics(MetricSet):
    """Prometheus side of the monitor: per-stage, cache and model metrics, and the figures."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.stage_duration = self.histogram(
            "stage_duration_seconds", "Time spent in one pipeline stage, per stage.",
            ["stage"], buckets=STAGE_BUCKETS)
        self.stage_failures = self.counter(
            "stage_failures", "Items that failed in a pipeline stage, per stage.", ["stage"])
        self.cache_requests = self.counter(
            "cache_requests", "Cache lookups, per cache and result (hit or miss).",
            ["cache", "result"])
        self.model_score = self.gauge(
            "model_score_ratio", "Latest quality figure of a model (0..1), per model figure.",
            ["figure"])
        self.figure = self.gauge(
            "monitor_value", "The windowed value alert rules evaluate, per figure.", ["metric"])
        for stage in STAGES:  # present at zero: rate() needs a baseline
            self.stage_duration.labels(stage=stage)
            self.stage_failures.labels(stage=stage)
        for result in ("hit", "miss"):  # likewise: a cold start's misses count in rate()
            self.cache_requests.labels(cache="templates", result=result)


class Monitor:
    """Live windows of every figure the rules and the dashboard read."""

    def __init__(self, registry: CollectorRegistry | None = None, *, clock: Clock = time.time,
                 figures: Mapping[str, Figure] | None = None) -> None:
        self.clock = clock
        self.metrics = MonitorMetrics(registry) if registry is not None else None
        self.figures = dict(FIGURES if figures is None else figures)
        self._samples: dict[str, SampleWindow] = {}
        self._ratios: dict[str, RatioWindow] = {}
        self._gauges: dict[str, GaugeValue] = {}
        self.progress: dict[tuple[str, int], tuple[int, float]] = {}
        """(topic, partition) -> (last offset processed, when)."""
        self.totals = {"messages": 0, "succeeded": 0, "failed": 0, "rejected": 0,
                       "dead_lettered": 0, "batches": 0}
        for name, figure in self.figures.items():
            self._window(name, figure.kind)
        self._share_latencies()

    def _window(self, name: str, kind: str) -> SampleWindow | RatioWindow | GaugeValue:
        """The window of ``name``, created as ``kind`` on first use; a kind clash raises."""
        existing = self._find(name)
        if existing is not None:
            have = ("sample" if isinstance(existing, SampleWindow)
                    else "ratio" if isinstance(existing, RatioWindow) else "gauge")
            if have != kind:
                raise ValueError(f"figure {name!r} is a {have} figure; report it with "
                                 f"{_REPORTERS[have]}, not as a {kind}")
            return existing
        figure = self.figures.get(name) or Figure(kind)
        window: SampleWindow | RatioWindow | GaugeValue
        if kind == "sample":
            window = self._samples[name] = SampleWindow(figure.span_s, figure.aggregate)
        elif kind == "ratio":
            window = self._ratios[name] = RatioWindow(figure.span_s)
        else:
            window = self._gauges[name] = GaugeValue(figure.stale_after_s)
        return window

    def _share_latencies(self) -> None:
        """The latency percentiles are three reads of one window (written once a request,
        sorted once a change), when their figures keep the same span."""
        windows = [self._samples.get(name) for name in _LATENCY_FIGURES]
        self._latency_windows = [w for w in windows if w is not None]
        first = windows[0]
        if first is None or any(w is None or w.span_s != first.span_s or
                                w.capacity != first.capacity for w in windows):
            return
        for name, window in zip(_LATENCY_FIGURES[1:], windows[1:], strict=True):
            assert window is not None  # checked above
            self._samples[name] = first.sharing(window.aggregate)
        self._latency_windows = [first]

    def _find(self, name: str) -> SampleWindow | RatioWindow | GaugeValue | None:
        found: SampleWindow | RatioWindow | GaugeValue | None = self._samples.get(name)
        if found is None:
            found = self._ratios.get(name)
        if found is None:
            found = self._gauges.get(name)
        return found

    # --- reporting ----------------------------------------------------------------
    def observe(self, metric: str, value: float, count: int = 1) -> None:
        """One observation (e.g. a duration in ms) of a sample figure."""
        window = self._window(metric, "sample")
        assert isinstance(window, SampleWindow)  # _window raised on a kind clash
        window.add(self.clock(), value, count)

    def observe_ratio(self, metric: str, numerator: float, denominator: float) -> None:
        """``numerator`` of ``denominator`` (e.g. 48 of 50 passed) for a ratio figure."""
        window = self._window(metric, "ratio")
        assert isinstance(window, RatioWindow)  # _window raised on a kind clash
        window.add(self.clock(), numerator, denominator)

    def set_gauge(self, metric: str, value: float) -> None:
        """The latest value of a gauge figure (model accuracy, speedup, quality score)."""
        window = self._window(metric, "gauge")
        assert isinstance(window, GaugeValue)  # _window raised on a kind clash
        window.set(self.clock(), value)
        if self.metrics is not None and 0.0 <= value <= 1.0 and metric != "parallel_speedup":
            self.metrics.model_score.labels(figure=metric).set(value)

    def observe_batch(self, size: int, duration_s: float, succeeded: int, failed: int,
                      dead_lettered: int, latencies_ms: Iterable[float], *,
                      rejected: int = 0) -> None:
        """One processed batch: counts by outcome and each request's end-to-end latency.

        ``rejected`` requests were answered (a valid "cannot generate" result), so
        they count as handled for the success rate; failed and dead-lettered do not.
        """
        now = self.clock()
        latencies = latencies_ms if isinstance(latencies_ms, list) else list(latencies_ms)
        for window in self._latency_windows:  # once a shared window, not once a figure
            window.add_many(now, latencies)
        if size:
            self._ratios["event_success_rate"].add(now, max(size - failed - dead_lettered, 0),
                                                   size)
            self._ratios["dead_letter_rate"].add(now, dead_lettered, size)
        self._samples["throughput_per_s"].add(now, float(size))
        self._samples["batch_duration_ms"].add(now, duration_s * 1000)
        totals = self.totals
        totals["messages"] += size
        totals["succeeded"] += succeeded
        totals["failed"] += failed
        totals["rejected"] += rejected
        totals["dead_lettered"] += dead_lettered
        totals["batches"] += 1

    def observe_stage(self, stage: str, duration_s: float, *, failed: int = 0) -> None:
        """Time spent in one stage (for one item or one batch) and how many items failed it."""
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r}: use one of {', '.join(STAGES)} "
                             "(a bounded set: each value is a time series)")
        if self.metrics is not None:
            self.metrics.stage_duration.labels(stage=stage).observe(duration_s)
            if failed:
                self.metrics.stage_failures.labels(stage=stage).inc(failed)
        if stage == "render":
            self.observe("generation_duration_ms", duration_s * 1000)

    def observe_stage_many(self, stage: str, durations_s: Sequence[float]) -> None:
        """``observe_stage(stage, d)`` for each of ``durations_s`` (one item each), in one
        step: the same histogram buckets, sum and count, and the same window samples."""
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r}: use one of {', '.join(STAGES)} "
                             "(a bounded set: each value is a time series)")
        if not durations_s:
            return
        if self.metrics is not None:
            observe_many(self.metrics.stage_duration.labels(stage=stage), durations_s)
        if stage == "render":
            window = self._window("generation_duration_ms", "sample")
            assert isinstance(window, SampleWindow)  # _window raised on a kind clash
            window.add_many(self.clock(), [d * 1000 for d in durations_s])

    def observe_cache(self, cache: str, hits: int, misses: int) -> None:
        """Lookups of one cache; all caches together make ``cache_hit_rate``."""
        self.observe_ratio("cache_hit_rate", hits, hits + misses)
        if self.metrics is not None:
            self.metrics.cache_requests.labels(cache=cache, result="hit").inc(hits)
            self.metrics.cache_requests.labels(cache=cache, result="miss").inc(misses)

    def record_progress(self, topic: str, partition: int, offset: int) -> None:
        """The last offset an agent finished on ``topic``/``partition`` (for liveness)."""
        self.progress[(topic, partition)] = (offset, self.clock())

    def record_progress_many(self, positions: Iterable[tuple[str, int, int]]) -> None:
        """``record_progress`` for each ``(topic, partition, offset)`` in order (the last
        offset of each partition stays), with one clock read for the batch."""
        now = self.clock()
        progress = self.progress
        for topic, partition, offset in positions:
            progress[(topic, partition)] = (offset, now)

    # --- reading ------------------------------------------------------------------
    def value(self, metric: str, now: float | None = None) -> float | None:
        """The current value of ``metric``, or None when nothing was reported in its window."""
        now = self.clock() if now is None else now
        window = self._find(metric)
        return None if window is None else window.value(now)

    def snapshot(self, now: float | None = None) -> dict[str, float | None]:
        """Every figure's current value (None = no data), for rules and the dashboard."""
        now = self.clock() if now is None else now
        out: dict[str, float | None] = {}
        for name, sample in self._samples.items():
            out[name] = sample.value(now)
        for name, ratio in self._ratios.items():
            out[name] = ratio.value(now)
        for name, gauge in self._gauges.items():
            out[name] = gauge.value(now)
        return out

    def export(self, snapshot: Mapping[str, float | None]) -> None:
        """Copy a snapshot to ``onexgen_monitor_value``; figures without data are removed."""
        if self.metrics is None:
            return
        gauge = self.metrics.figure
        for name, value in snapshot.items():
            if value is None:
                with contextlib.suppress(KeyError):  # never set: nothing to remove
                    gauge.remove(name)
            else:
                gauge.labels(metric=name).set(value)
