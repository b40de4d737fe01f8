"""The OTLP/HTTP span exporter with the direct protobuf writer of ``otlp_wire``.

Everything but the encoding (endpoint and header resolution, TLS, compression,
retries with backoff, timeouts) stays the official exporter's. The override
uses the exporter's HTTP client (``_client.export``, opentelemetry-exporter-
otlp-proto-http 1.4x); with a release that lacks it, the official exporter is
used unchanged, just slower.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from onexgen.observability.otlp_wire import RequestEncoder

log = structlog.get_logger("onexgen.tracing")


class DirectOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose request bytes come from :class:`RequestEncoder`."""

    def __init__(self, endpoint: str | None = None) -> None:
        super().__init__(endpoint=endpoint)
        self._encoder = RequestEncoder()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            data = self._encoder.encode(spans)
        except Exception as exc:  # an unencodable attribute must not kill the export thread
            log.warning("span_encoding_failed", error=str(exc), spans=len(spans))
            return SpanExportResult.FAILURE
        return (SpanExportResult.SUCCESS if self._client.export(data).success
                else SpanExportResult.FAILURE)


def otlp_exporter(endpoint: str | None) -> SpanExporter:
    """The direct-encoding exporter where this exporter release allows it."""
    exporter = DirectOTLPSpanExporter(endpoint)
    if not callable(getattr(getattr(exporter, "_client", None), "export", None)):
        log.warning("otlp_direct_encoding_unavailable")
        return OTLPSpanExporter(endpoint=endpoint)
    return exporter
