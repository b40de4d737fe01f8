"""Faust's aiokafka transport with a bounded fetch wait and a minimum fetch size.

aiokafka keeps at most one fetch request in flight per broker, and it leaves
out of that request every partition whose fetched records are not yet consumed.
Right after a fetch that returned every busy partition, then, the next request
names only quiet partitions (the feedback topic, idle request partitions) and
the broker holds it for up to ``fetch_max_wait_ms`` waiting for data on them;
the busy partitions cannot be fetched again until it returns. Faust hard-codes
1,500 ms there: a pause of up to 1.5 s would explain the 0.7-0.8 s consumption
stalls once seen at moderate load (read from the code; not reproduced on
purpose). The wait is a setting here (``ONEXGEN_KAFKA_FETCH_MAX_WAIT_MS``, 25 ms).
Its price is paid when idle, not under load (fetches then return with data at once):
an idle worker measured 3.2% of a core and the local broker 5.5-5.9% at 25 ms,
2.0-2.2% and 3.9-4.2% at 50 ms, 1.2% and 2.2-2.3% at 1,500 ms (``python -m
bench.bench_idle``, two runs each).

Faust leaves ``fetch_min_bytes`` at aiokafka's 1: the broker answers a fetch as soon
as one request is there. Under steady traffic that is a fetch round trip, and a
batch, every few requests: at 550 requests/s (half this machine's maximum) the
worker's event loop spent 700 µs a request and the broker 490-650, against 220 and
110 in bursts. ``ONEXGEN_KAFKA_FETCH_MIN_BYTES`` (16384, about 40 requests) lets the
broker gather a clump first, never for longer than ``fetch_max_wait_ms``: 415 µs for
the event loop and 2,690 in all at 550/s, against 700 and 3,120, for a p50 18 ms
higher. In bursts it changes nothing: the data is already there.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher; not started yet here.
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        consumer._fetch_min_bytes = transport.fetch_min_bytes
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class BoundedFetchTransport(faust_aiokafka.Transport):
    """The aiokafka transport whose worker consumer waits ``fetch_max_wait_ms`` at most,
    for ``fetch_min_bytes`` at least."""

    Consumer = _Consumer
    fetch_max_wait_ms = 1500  # Faust's own values until ``use_fetch_limits`` sets them
    fetch_min_bytes = 1


def use_fetch_limits(app: faust.App, fetch_max_wait_ms: int, fetch_min_bytes: int) -> None:
    """Make ``app``'s worker consumer wait at most ``fetch_max_wait_ms`` per fetch, for
    ``fetch_min_bytes`` of records at least (whichever comes first).

    Call before anything touches ``app.transport`` (agents, topics): Faust
    builds the transport once, lazily.
    """
    transport = BoundedFetchTransport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    transport.fetch_min_bytes = fetch_min_bytes
    app.transport = transport
