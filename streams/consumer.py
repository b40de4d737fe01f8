"""Faust's aiokafka transport with a bounded fetch wait.

aiokafka keeps at most one fetch request in flight per broker, and it leaves
out of that request every partition whose fetched records are not yet consumed.
Right after a fetch that returned every busy partition, then, the next request
names only quiet partitions (the feedback topic, idle request partitions) and
the broker holds it for up to ``fetch_max_wait_ms`` waiting for data on them;
the busy partitions cannot be fetched again until it returns. Faust hard-codes
1,500 ms there: a pause of up to 1.5 s would explain the 0.7-0.8 s consumption
stalls once seen at moderate load (read from the code; not reproduced on
purpose). The wait is a setting here (``ONEXGEN_KAFKA_FETCH_MAX_WAIT_MS``). Its
price is paid when idle, not under load (fetches then return with data at once):
at 50 ms an idle worker measured 2.7% of a core and the local broker 4.0-6.6%,
against 1.2% and 2.2-2.3% at 1,500 ms (``python -m bench.bench_idle``, two runs each).
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
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class BoundedFetchTransport(faust_aiokafka.Transport):
    """The aiokafka transport whose worker consumer waits ``fetch_max_wait_ms`` at most."""

    Consumer = _Consumer
    fetch_max_wait_ms = 1500  # Faust's own value until ``use_fetch_max_wait`` sets it


def use_fetch_max_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make ``app``'s worker consumer wait at most ``fetch_max_wait_ms`` per fetch.

    Call before anything touches ``app.transport`` (agents, topics): Faust
    builds the transport once, lazily.
    """
    transport = BoundedFetchTransport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    app.transport = transport
