"""The OTLP exporter really sends OTLP/HTTP protobuf: a local HTTP server decodes what arrives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from onexgen.observability.tracing import configure_tracing
from onexgen.settings import Settings
from onexgen.streams.records import InboundMessage

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class _Collector(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.bodies.append((self.path, self.headers.get("Content-Type") or "",
                            self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    _Collector.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", _Collector.bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_otlp_exporter_posts_spans_of_the_producers_trace(
        collector: tuple[str, list[tuple[str, str, bytes]]]) -> None:
    url, bodies = collector
    tracing = configure_tracing(Settings(
        tracing_exporter="otlp", tracing_otlp_endpoint=url, tracing_export_delay_ms=10,
        tracing_service_name="onexgen-test"))
    assert tracing is not None
    try:
        headers = [("traceparent", f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode())]
        trace = tracing.batch([InboundMessage("t.requests", 0, 7, None, b"{}", headers)])
        trace.start_produce(0, "t.results")
        trace.produced(1)
        trace.end()
        assert tracing.force_flush(10_000)
    finally:
        tracing.shutdown()
    assert bodies, "the collector received an export"
    path, content_type, body = bodies[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attrs["service.name"] == "onexgen-test"
    spans = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert sorted(s.name for s in spans) == ["consume", "produce"]
    assert {s.trace_id.hex() for s in spans} == {TRACE_ID}
