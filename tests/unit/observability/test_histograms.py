"""observe_many, window add_many and the monitor's per-batch calls read as one call a value."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.values import MutexValue

from onexgen.observability.histograms import fast_path, observe_many
from onexgen.observability.metrics import REQUEST_BUCKETS, PipelineMetrics
from onexgen.observability.monitor import STAGE_BUCKETS, Monitor
from onexgen.observability.windows import SampleWindow


def _values(seed: int, n: int, bounds: tuple[float, ...]) -> list[float]:
    rng = random.Random(seed)
    values = [rng.uniform(0, bounds[-1] * 1.5) for _ in range(n)]
    values += [rng.expovariate(1 / 0.05) for _ in range(n)]
    values += [*bounds, 0.0, -0.5, math.inf, 1e300]  # on every bound, and beyond
    rng.shuffle(values)
    return values


def _histogram_samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in registry.collect()
            for s in family.samples if not s.name.endswith("_created")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_observe_many_when_values_span_every_bucket_reads_as_observe_each(seed: int) -> None:
    one, many = CollectorRegistry(), CollectorRegistry()
    h_one = Histogram("d_seconds", "d", registry=one, buckets=REQUEST_BUCKETS)
    h_many = Histogram("d_seconds", "d", registry=many, buckets=REQUEST_BUCKETS)
    for batch in (_values(seed, 40, tuple(REQUEST_BUCKETS)), _values(seed + 10, 7, (1.0,)), []):
        for v in batch:
            h_one.observe(v)
        observe_many(h_many, batch)
        assert _histogram_samples(many) == _histogram_samples(one)  # sum to the last bit


def test_observe_many_when_value_is_nan_adds_it_to_the_sum_only_as_observe_does() -> None:
    one, many = CollectorRegistry(), CollectorRegistry()
    h_one = Histogram("d_seconds", "d", registry=one)
    h_many = Histogram("d_seconds", "d", registry=many)
    h_one.observe(0.2)
    h_one.observe(math.nan)
    observe_many(h_many, [0.2, math.nan])
    got, want = _histogram_samples(many), _histogram_samples(one)
    assert [(n, labels) for n, labels, _ in got] == [(n, labels) for n, labels, _ in want]
    for (_, _, g), (_, _, w) in zip(got, want, strict=True):
        assert g == w or (math.isnan(g) and math.isnan(w))


def test_observe_many_when_values_are_not_mutex_values_falls_back_to_observe_each() -> None:
    class Wrapped:  # a value class the fast path does not know (e.g. multiprocess mode)
        def __init__(self, inner: MutexValue) -> None:
            self.inner, self.calls = inner, 0

        def inc(self, amount: float) -> None:
            self.calls += 1
            self.inner.inc(amount)  # type: ignore[no-untyped-call]  # untyped upstream

        def get(self) -> float:
            return float(self.inner.get())  # type: ignore[no-untyped-call]  # likewise

    registry = CollectorRegistry()
    h = Histogram("d_seconds", "d", registry=registry)
    wrapped = Wrapped(h._sum)
    h._sum = wrapped
    assert not fast_path(h)
    observe_many(h, [0.1, 0.2, 0.3])
    assert wrapped.calls == 3
    assert wrapped.get() == 0.1 + 0.2 + 0.3


def test_observe_many_on_a_labelled_child_counts_only_that_child() -> None:
    registry = CollectorRegistry()
    h = Histogram("d_seconds", "d", ["stage"], registry=registry, buckets=STAGE_BUCKETS)
    observe_many(h.labels(stage="render"), [0.001, 0.002])
    counts = {s.labels["stage"]: s.value for f in registry.collect() for s in f.samples
              if s.name == "d_seconds_count"}
    assert counts == {"render": 2}


def test_window_add_many_when_read_between_batches_reads_as_add_each() -> None:
    one, many = SampleWindow(60.0, "p95", capacity=50), SampleWindow(60.0, "p95", capacity=50)
    rng = random.Random(7)
    for t in range(5):
        batch = [rng.uniform(0, 100) for _ in range(rng.randint(0, 30))]
        for v in batch:
            one.add(float(t), v)
        many.add_many(float(t), batch)
        assert many.value(float(t)) == one.value(float(t))  # a cached read is refreshed
        assert len(many) == len(one)
    assert many.value(100.0) is None  # aged out alike


def _monitor_pair() -> tuple[Monitor, CollectorRegistry, Monitor, CollectorRegistry]:
    now = [1000.0]
    one_reg, many_reg = CollectorRegistry(), CollectorRegistry()
    return (Monitor(one_reg, clock=lambda: now[0]), one_reg,
            Monitor(many_reg, clock=lambda: now[0]), many_reg)


def test_observe_stage_many_when_render_times_given_reads_as_observe_stage_each() -> None:
    one, one_reg, many, many_reg = _monitor_pair()
    durations = _values(5, 30, STAGE_BUCKETS)[:60]
    durations = [abs(d) for d in durations if math.isfinite(d)]
    for d in durations:
        one.observe_stage("render", d)
    many.observe_stage_many("render", durations)
    many.observe_stage_many("render", [])
    assert many.snapshot() == one.snapshot()
    assert _histogram_samples(many_reg) == _histogram_samples(one_reg)


def test_observe_stage_many_when_stage_unknown_raises_naming_the_stages() -> None:
    _, _, many, _ = _monitor_pair()
    with pytest.raises(ValueError, match="use one of consume"):
        many.observe_stage_many("rendering", [0.1])


def test_record_progress_many_keeps_each_partitions_last_offset() -> None:
    monitor = Monitor(clock=lambda: 5.0)
    monitor.record_progress_many([("t", 0, 10), ("t", 1, 3), ("t", 0, 11), ("u", 0, 1)])
    assert monitor.progress == {("t", 0): (11, 5.0), ("t", 1): (3, 5.0), ("u", 0): (1, 5.0)}


def test_pipeline_histograms_take_the_fast_path() -> None:
    m = PipelineMetrics(CollectorRegistry())
    assert fast_path(m.request_duration) and fast_path(m.queue_wait)
