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

Faust hands each fetched message to the conductor with ``wait_first(callback(message),
suspend_flow.wait())``: four tasks a message (the callback, and waiters on the flow's
suspension and on the consumer's stop and crash), three of them cancelled again, 18 µs
of the event loop a message on uvloop. ``_Consumer`` runs Faust's drain loop with a
``MessageHandoff`` instead: one task a message, and long-lived waiters that cancel it
if the flow is suspended (a rebalance) or the consumer stops or crashes before it is
done: 4.6 µs (``python -m bench event_loop``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import aiokafka
import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service, ServiceT


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher; not started yet here.
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms
        consumer._fetch_min_bytes = transport.fetch_min_bytes
        return consumer


class MessageHandoff:
    """``callback(message)`` for the drain loop, given up once any of ``events`` is set.

    The waiters on the events are made once and reused for every message until one
    of them fires; Faust made three new ones a message (see the module docstring).
    """

    def __init__(self, *events: Any) -> None:
        self._events = events
        self._watchers: list[asyncio.Future[Any]] | None = None

    def _current_watchers(self) -> list[asyncio.Future[Any]]:
        watchers = self._watchers
        if watchers is None or any(w.done() for w in watchers):
            self.close()
            watchers = self._watchers = [asyncio.ensure_future(e.wait()) for e in self._events]
        return watchers

    def close(self) -> None:
        for watcher in self._watchers or ():
            watcher.cancel()
        self._watchers = None

    async def deliver(self, callback: Callable[[Any], Awaitable[Any]], message: Any) -> None:
        """Run ``callback(message)``; return early (cancelling it) if an event is set first.
        Its exceptions, and a cancellation of the caller, propagate."""
        task = asyncio.ensure_future(callback(message))
        watchers = self._current_watchers()

        def give_up(_: asyncio.Future[Any]) -> None:
            task.cancel()

        for watcher in watchers:
            watcher.add_done_callback(give_up)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or current is None or current.cancelling():
                raise  # the caller itself is being cancelled
        finally:
            for watcher in watchers:
                watcher.remove_done_callback(give_up)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        # Faust 0.15.3's loop (pinned below 0.16), with a ``MessageHandoff`` for its
        # per-message ``wait_first``; see the module docstring.
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        handoff = MessageHandoff(self.suspend_flow, cast(Service, self)._stopped,
                                 cast(Service, self)._crashed)
        deliver = handoff.deliver
        yield_every = 100
        num_since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = cast(AsyncIterator[tuple[Any, Any]], getmany(timeout=1.0))
                # Faust sleeps here: getmany may otherwise loop without yielding.
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            await deliver(callback, message)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                         offset, message.key, message.value)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)
            handoff.close()


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
