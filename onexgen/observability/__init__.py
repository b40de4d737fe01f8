"""Structured logging, log context, Prometheus metrics: how a worker is observed.

- :mod:`observability.logging`: JSON lines for structlog and stdlib loggers, one
  sink, rotation, secret redaction (:mod:`~observability.redaction`,
  :mod:`~observability.sinks`).
- :mod:`observability.context`: per-message log context and the correlation-id
  header.
- :mod:`observability.metrics`: the pipeline's Prometheus metrics and
  ``/metrics`` rendering.

Submodules are imported explicitly (``from observability.context import ...``)
so that a producer needing only the header constant does not pull in
prometheus-client or configure anything.
"""
