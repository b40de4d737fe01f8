"""PipelineMetrics on a fresh registry and the /metrics rendering."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from onexgen.observability.metrics import MetricSet, PipelineMetrics, render_metrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    payload, _ = render_metrics(registry)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(payload.decode())
        for s in family.samples
    }


def test_render_when_metrics_incremented_shows_names_and_values(
    registry: CollectorRegistry,
) -> None:
    m = PipelineMetrics(registry)
    m.messages_consumed.labels(topic="onexgen.requests").inc(3)
    m.results_produced.labels(status="succeeded").inc(2)
    m.dead_letters.labels(reason="ValidationError").inc()
    m.observe_batch(50, 0.2)
    m.request_duration.observe(0.3)
    m.queue_wait.observe(0.01)
    m.produce_duration.labels(topic="onexgen.results").observe(0.002)
    with m.requests_in_flight(4):
        assert _samples(registry)[("onexgen_requests_in_flight", ())] == 4

    s = _samples(registry)
    assert s[("onexgen_messages_consumed_total", (("topic", "onexgen.requests"),))] == 3
    assert s[("onexgen_results_produced_total", (("status", "succeeded"),))] == 2
    assert s[("onexgen_results_produced_total", (("status", "failed"),))] == 0
    assert s[("onexgen_dead_letters_total", (("reason", "ValidationError"),))] == 1
    assert s[("onexgen_batch_size_messages_count", ())] == 1
    assert s[("onexgen_batch_size_messages_bucket", (("le", "50.0"),))] == 1
    assert s[("onexgen_batch_size_messages_bucket", (("le", "20.0"),))] == 0
    assert s[("onexgen_batch_processing_duration_seconds_sum", ())] == pytest.approx(0.2)
    assert s[("onexgen_request_duration_seconds_count", ())] == 1
    assert s[("onexgen_queue_wait_duration_seconds_count", ())] == 1
    assert s[("onexgen_produce_duration_seconds_count", (("topic", "onexgen.results"),))] == 1
    assert s[("onexgen_requests_in_flight", ())] == 0


def test_metric_names_when_listed_follow_prometheus_conventions(
    registry: CollectorRegistry,
) -> None:
    PipelineMetrics(registry)
    families = list(registry.collect())
    assert len(families) == 9
    for family in families:
        assert family.name.startswith("onexgen_")
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        if "duration" in family.name:
            assert family.name.endswith("_seconds")


def test_batch_size_buckets_when_listed_cover_one_to_ten_thousand(
    registry: CollectorRegistry,
) -> None:
    PipelineMetrics(registry)
    bounds = {dict(k[1]).get("le") for k in _samples(registry)
              if k[0] == "onexgen_batch_size_messages_bucket"}
    assert {"1.0", "10000.0", "+Inf"} <= bounds


def test_two_metric_sets_when_on_fresh_registries_do_not_clash() -> None:
    a, b = PipelineMetrics(CollectorRegistry()), PipelineMetrics(CollectorRegistry())
    a.messages_consumed.labels(topic="t").inc()
    assert _samples(b.registry).get(("onexgen_messages_consumed_total", (("topic", "t"),))) is None


def test_metric_set_when_name_breaks_convention_raises(registry: CollectorRegistry) -> None:
    metrics = MetricSet(registry)
    with pytest.raises(ValueError, match="_total"):
        metrics.counter("requests_total", "x")
    with pytest.raises(ValueError, match="_seconds"):
        metrics.histogram("render_duration_ms", "x")
    with pytest.raises(ValueError, match="snake_case"):
        metrics.gauge("onexgen_queue", "x")


def test_render_when_openmetrics_accepted_returns_openmetrics(
    registry: CollectorRegistry,
) -> None:
    PipelineMetrics(registry)
    payload, content_type = render_metrics(registry, accept="application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert payload.endswith(b"# EOF\n")


def test_render_when_no_accept_returns_text_format(registry: CollectorRegistry) -> None:
    _, content_type = render_metrics(registry)
    assert content_type.startswith("text/plain")
