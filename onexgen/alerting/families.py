"""Named metric families for the figures no counter or histogram measures.

Most rules have a natural PromQL over the worker's own families (request
latency histogram, result and dead-letter counters, cache lookups, stage
durations). The model and quality figures are judged by the learning side over
its own windows (accuracy over the last hour of feedback, the latest
compatibility average, the pool's measured speed-up); for those the worker
exports one gauge per figure, named for what it measures and in base units
(``onexgen_mixin_accuracy_ratio``, ``onexgen_template_load_duration_p95_seconds``),
read from the monitor at scrape time. Prometheus then alerts on the same
numbers the built-in engine does, each under its own name and unit, instead of
one unitless ``onexgen_monitor_value{metric=...}`` that mixes milliseconds,
ratios and speed-ups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["FIGURE_FAMILIES", "Family", "FigureFamilies"]


@dataclass(frozen=True, slots=True)
class Family:
    """A gauge exported for one monitor figure: ``value * scale`` under ``onexgen_<name>``."""

    name: str
    scale: float
    documentation: str

    @property
    def full_name(self) -> str:
        return f"onexgen_{self.name}"


FIGURE_FAMILIES: dict[str, Family] = {
    "template_load_duration_ms": Family(
        "template_load_duration_p95_seconds", 0.001,
        "95th percentile of template load time over the last minute."),
    "parallel_speedup": Family(
        "parallel_speedup_ratio", 1.0,
        "Process pool speed-up over serial generation, as last measured (1 = none)."),
    "mixin_accuracy": Family(
        "mixin_accuracy_ratio", 1.0,
        "Mixin-compatibility predictions confirmed by feedback over the last hour (0..1)."),
    "compatibility_score": Family(
        "mixin_compatibility_score_ratio", 1.0,
        "Average mixin compatibility score of the matrix (0..1)."),
    "pattern_precision": Family(
        "pattern_precision_ratio", 1.0,
        "Pattern detection precision from feedback over the last hour (0..1)."),
    "false_positive_rate": Family(
        "pattern_false_positive_ratio", 1.0,
        "Pattern detection false-positive rate from feedback over the last hour (0..1)."),
    "quality_score": Family(
        "generated_code_quality_score_ratio", 1.0,
        "Quality score of the generated code, as last measured (0..1)."),
    "validation_pass_rate": Family(
        "validation_pass_ratio", 1.0,
        "Generated packages passing validation over the last five minutes (0..1)."),
}


class FigureFamilies(Collector):
    """Exports :data:`FIGURE_FAMILIES` from ``value(figure)``; a figure without data has no
    sample (Prometheus sees no series, so its rule neither fires nor resolves on nothing)."""

    def __init__(self, value: Callable[[str], float | None]) -> None:
        self._value = value

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for family in FIGURE_FAMILIES.values():
            yield GaugeMetricFamily(family.full_name, family.documentation)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for figure, family in FIGURE_FAMILIES.items():
            gauge = GaugeMetricFamily(family.full_name, family.documentation)
            value = self._value(figure)
            if value is not None:
                gauge.add_metric([], value * family.scale)
            yield gauge
