"""Consumer lag, position and committed offset per partition, as Prometheus gauges.

Read from the worker's own Faust consumer every few seconds: the high watermark
comes with each fetch, the position from the client, the committed offset from
what the consumer last committed (acknowledged batches only).
"""

from __future__ import annotations

from typing import Any

import faust

from onexgen.agents.runtime import WorkerRuntime
from onexgen.observability.metrics import ConsumerMetrics


def register_lag_gauges(app: faust.App, runtime: WorkerRuntime, *,
                        interval_s: float = 5.0) -> ConsumerMetrics:
    gauges = ConsumerMetrics(runtime.registry)

    async def sample() -> None:
        if not runtime.is_ready():
            return
        consumer: Any = app.consumer
        # faust keeps what it last committed per partition; there is no public accessor.
        committed = getattr(consumer, "_committed_offset", {})
        for tp in consumer.assignment():
            try:
                high = consumer.highwater(tp)
                position = await consumer.position(tp)
            except Exception:  # noqa: S112 - not fetched yet (just assigned): nothing to show
                continue
            labels = {"topic": tp.topic, "partition": str(tp.partition)}
            done = committed.get(tp)
            if high is not None:
                gauges.high_watermark.labels(**labels).set(high)
            if position is not None:
                gauges.position.labels(**labels).set(position)
            if done is not None:
                gauges.committed.labels(**labels).set(done)
            if high is not None and position is not None:
                gauges.lag.labels(**labels).set(max(0, int(high) - int(position)))

    app.timer(interval_s, name="onexgen.consumer.lag")(sample)
    return gauges
