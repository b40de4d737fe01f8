"""Fail loudly when a library changes an internal we read for speed.

Each fast path keeps a public-API fallback, so a changed library would only make us
slower, silently; these tests make the change visible instead (and name what to port).
The faster paths are measured by ``python -m bench logging`` and ``python -m bench tracing``.
"""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry, Histogram

from onexgen.observability.histograms import fast_path
from onexgen.observability.logging import merge_context
from onexgen.observability.otlp_export import DirectOTLPSpanExporter, otlp_exporter


def test_structlog_private_context_registry_still_exists_and_matches_public_merge() -> None:
    registry = getattr(structlog.contextvars, "_CONTEXT_VARS", None)
    assert isinstance(registry, dict), (
        "structlog renamed its context registry: merge_context now takes the slower public "
        "path; port onexgen/observability/logging.py to the new name or drop the fast path")
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id="c-1", topic="t", offset=7)
    try:
        ours = merge_context(None, "info", {"event": "x", "topic": "explicit"})
        public = structlog.contextvars.merge_contextvars(None, "info",
                                                          {"event": "x", "topic": "explicit"})
    finally:
        structlog.contextvars.clear_contextvars()
    assert ours == public == {"event": "x", "topic": "explicit", "correlation_id": "c-1",
                              "offset": 7}


def test_otlp_exporter_private_client_still_exists() -> None:
    exporter = otlp_exporter("http://127.0.0.1:9/v1/traces")
    try:
        assert isinstance(exporter, DirectOTLPSpanExporter), (
            "the OTLP exporter no longer has _client.export: spans are encoded by the slower "
            "official path; port onexgen/observability/otlp_export.py or drop the fast path")
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]  # untyped in the SDK


def test_prometheus_histogram_internals_still_allow_observe_many_in_one_step() -> None:
    h = Histogram("internals_seconds", "x", ["stage"], registry=CollectorRegistry())
    assert fast_path(h.labels(stage="render")), (
        "prometheus-client changed Histogram's _upper_bounds/_buckets/_sum or MutexValue: "
        "observe_many now observes value by value (slower); port "
        "onexgen/observability/histograms.py or drop the fast path")
