"""Every use of Faust's internals, in one module, each with a public-API fallback.

Faust is the consumer of the request and feedback topics (the design card); the
things it does not offer publicly pay for themselves (measured) or are needed:

* **The worker consumer's fetch limits.** aiokafka keeps at most one fetch request
  in flight per broker, and it leaves out of that request every partition whose
  fetched records are not yet consumed. Right after a fetch that returned every busy
  partition, then, the next request names only quiet partitions (the feedback topic,
  idle request partitions) and the broker holds it for up to ``fetch_max_wait_ms``
  waiting for data on them; the busy partitions cannot be fetched again until it
  returns. Faust hard-codes 1,500 ms there (a pause of up to 1.5 s would explain the
  0.7-0.8 s consumption stalls once seen at moderate load; read from the code). The
  wait is a setting here (``ONEXGEN_KAFKA_FETCH_MAX_WAIT_MS``, 10 ms). Its price is
  paid when idle: an idle worker measured 4.1% of a core and the local broker
  10.3% at 10 ms, 1.2% and 2.2-2.3% at 1,500 ms (``python -m bench.bench_idle``).
  Faust leaves ``fetch_min_bytes`` at 1: at 550 requests/s ``ONEXGEN_KAFKA_FETCH_MIN_BYTES``
  (16384) cut the worker's event loop from 700 to 415 µs a request (BENCHMARKS.md,
  session 8). Faust builds the aiokafka consumer in a private method of its consumer
  thread; the limits are set on it through ``streams.aiokafka_internals``, and so is
  the min bytes while it runs (``prompt_fetches``: 1 while the codegen agent's pool is
  idle, so a request at light load is not held for the fetch wait, 10 ms), and so is the
  max wait (``fetch_wait``: longer while the worker holds a backlog, so a burst is not
  followed by a hundred empty fetches; ``streams.fetch_cadence``). Fallback:
  when that method is gone, Faust's consumer as it is (a warning is logged).
* **The consumer without its thread** (``ONEXGEN_KAFKA_CONSUMER_THREAD=false``). Faust
  runs aiokafka on a second event loop in a mode ``ServiceThread`` and hops to it through
  a method queue for every ``getmany`` (once a fetch), commit, seek and position.
  ``_InLoopConsumerThread`` is Faust's consumer thread with mode's thread machinery put
  back to plain ``Service`` methods: it starts and stops on the app's loop and awaits
  each call directly. Fallback: Faust's thread, when mode's ``ServiceThread`` no longer
  overrides exactly the methods put back (a warning is logged).
* **The drain loop.** Faust hands each fetched message to the conductor with
  ``wait_first(callback(message), suspend_flow.wait())``: four tasks a message, three
  of them cancelled again, 18 µs of the event loop a message on uvloop. The copy here
  uses ``streams.consumer.MessageHandoff`` instead: one task a message, 4.6 µs
  (``python -m bench event_loop``), now one task a *fetch* (``MessageHandoff.run``):
  the messages of a fetch are handed over one after another in it, and the whole
  fetch is given up at once when the flow is suspended or the consumer stops. It is
  used only when Faust's own loop is, byte for byte, the one it copies (SHA-256 of
  its source, checked once at start); any other Faust runs its own loop (a warning
  is logged), and a test fails until the copy is redone.
* **A fetch's messages listed at once** (``fetched``): Faust's ``getmany`` is an async
  generator that checks the flow and generation, reads the partition's high-water mark
  and builds a message for every record, with no ``await`` between records; the drain
  loop copy lists them with those reads done once a fetch (a partition). Fallback:
  Faust's generator, when its source is not the known one (SHA-256).
* **The conductor's lock for every message.** Faust's ``Conductor.on_message`` takes an
  ``asyncio.Lock`` to read one dict entry (the partition's handler); the lock guards the
  table only while a resubscription rebuilds it. The drain loop copy dispatches through
  ``unlocked_dispatch``: the table read directly while nobody holds the lock, Faust's
  handler otherwise (0.61 against 0.22 µs a message, ``python -m bench event_path``).
  Fallback: Faust's handler, when its source is not the known one (SHA-256).
* **A stream's events a delivery at a time, acknowledged a batch at a time**
  (``event_path``): the codegen agent takes the events straight off its stream's channel
  instead of through Faust's stream iterator, and acknowledges a batch under Faust's ack
  lock taken once. Fallback: Faust's iterator and ``Stream.ack`` (see that module).
* **The producer buffer's size, asked for every consumed message.** Faust's conductor
  awaits ``app.producer.buffer.wait_until_ebb()`` before it hands each message to
  a stream, and the buffer's ``size`` reads the ``producer_threaded`` setting through
  ``app.conf`` each time: 4.5% of the worker's event-loop samples holding the GIL
  (docs/upstream/faust-per-message-costs.md). ``_ProducerBuffer`` reads the setting
  once. Fallback: none needed (a subclass of Faust's public ``ProducerBuffer``; the
  transport's producer swaps its buffer's class when it is exactly Faust's).
* **Starting the worker's runtime as an app service.** ``app.service()`` takes only
  classes; Faust starts instances from its ``_extra_services`` list just the same,
  after the app is fully started, and stops them first. Fallback: mode's public
  ``add_dependency`` (started and stopped with the app).

* **Leaving records unacknowledged at shutdown.** Faust's consumer will not stop
  while a consumed record is unacknowledged (``wait_empty``), and acknowledging it
  commits it. The alert-manager holds an alert until its notification is delivered;
  at shutdown :func:`abandon` takes such records off Faust's ``_unacked_messages``, so
  the worker stops without committing them and the next holder reads them again.
  Fallback: acknowledge them (committed: an undelivered notification is lost, but the
  worker stops).

* **Refusals instead of crashes.** A fetch or offset commit the broker refuses for want
  of an ACL (READ on a topic or on the group, revoked while the worker runs) makes Faust
  crash the worker: a fetch's error propagates out of the drain loop, and its consumer
  thread's ``_commit`` calls ``crash`` on any error. Our consumer thread catches the first
  in ``getmany`` (returns nothing after a pause) and declines the second in ``crash``,
  and says why in ``refused`` (the ``kafka_consume`` health check) until a fetch or a
  commit succeeds (``refusals.ReadRefusals``, a base of the consumer thread the transport
  installs); with Faust's own consumer (the fallbacks above) a refusal still crashes.
  Faust takes a declined commit's offsets as committed; our consumer keeps them and adds
  them to each later commit until one is taken (``refusals.RetriedCommits``).

Every copy of Faust's code pins the SHA-256 of the source it copies (``support.pinned``).
``tests/unit/streams/test_faust_internals.py`` (and ``test_faust_event_path.py``) fail,
naming what to redo, when the installed Faust no longer has what this package relies on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, cast

import aiokafka
import faust
import structlog
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types.transports import ConsumerT, ProducerT
from mode import Service, ServiceT
from mode.threads import QueueServiceThread, ServiceThread
from mode.utils.futures import maybe_async

from onexgen.streams.aiokafka_internals import (
    set_fetch_limits,
    set_running_fetch_max_wait_ms,
    set_running_fetch_min_bytes,
)
from onexgen.streams.consumer import MessageHandoff
from onexgen.streams.faust_internals.app_hooks import abandon, add_service
from onexgen.streams.faust_internals.dispatch import unlocked_dispatch
from onexgen.streams.faust_internals.fetched import fetched_messages, getmany_is_the_copied_one
from onexgen.streams.faust_internals.refusals import (
    ReadRefusals,
    RetriedCommits,
    consume_refused,
)
from onexgen.support.pinned import source_is

__all__ = ["BoundedFetchTransport", "abandon", "add_service", "consume_refused",
           "fetch_delivered", "fetch_wait", "prompt_fetches", "unlocked_dispatch",
           "use_fetch_limits"]

log = structlog.get_logger("onexgen.streams.faust")

DRAIN_LOOP_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
"""Of faust-streaming 0.15.3's ``Consumer._drain_messages``, which ``_Consumer`` copies."""


def drain_loop_is_the_copied_one() -> bool:
    """Whether the installed Faust's drain loop is the one ``_Consumer`` copies."""
    return source_is(DRAIN_LOOP_SHA256, getattr(FaustConsumer, "_drain_messages", None))


def consumer_thread_hook_exists() -> bool:
    """Whether Faust still builds its worker consumer in ``_create_worker_consumer``."""
    return callable(getattr(faust_aiokafka.AIOKafkaConsumerThread,
                            "_create_worker_consumer", None))


class _ConsumerThread(ReadRefusals):
    worker_consumer: aiokafka.AIOKafkaConsumer | None = None

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        set_fetch_limits(consumer, transport.fetch_max_wait_ms, transport.fetch_min_bytes)
        self.worker_consumer = consumer
        return consumer


_THREAD_METHODS = frozenset({"__init__", "_new_shutdown_event", "_stop_children",  # mode's
                             "_stop_exit_stacks", "_stop_futures", "_stopped_set", "crash",
                             "maybe_start", "set_shutdown", "start", "stop"})  # overrides


def in_loop_consumer_fits() -> bool:
    """Whether mode's service thread overrides exactly the methods ``_InLoopConsumerThread``
    puts back, and Faust's consumer thread still stops its consumer in ``on_thread_stop``."""
    overridden = {name for name, value in vars(ServiceThread).items()
                  if callable(value) and hasattr(Service, name)}
    return (overridden == _THREAD_METHODS
            and callable(getattr(QueueServiceThread, "call_thread", None))
            and "on_thread_stop" in vars(faust_aiokafka.AIOKafkaConsumerThread))


class _InLoopConsumerThread(_ConsumerThread):
    """Faust's consumer "thread" as a plain service on the app's loop (module docstring).

    Rebalance callbacks still go through the consumer's method queue, now on this loop:
    its worker task runs Faust's handler while aiokafka's coordinator awaits the promise.
    The price: a blocked app loop now delays heartbeats too (the pool does the generating).
    """

    wait_for_shutdown = False  # no thread to signal it
    start, stop = Service.start, Service.stop
    maybe_start = Service.maybe_start
    set_shutdown, _stopped_set = Service.set_shutdown, Service._stopped_set
    _stop_children = Service._stop_children
    _stop_futures = Service._stop_futures
    _stop_exit_stacks = Service._stop_exit_stacks

    def __init__(self, consumer: Any, *, loop: asyncio.AbstractEventLoop,
                 **kwargs: Any) -> None:
        super().__init__(consumer, loop=loop, thread_loop=loop, **kwargs)

    async def _crash_service(self, exc: BaseException) -> None:
        await Service.crash(self, exc)  # no thread's start to fail

    @Service.task
    async def _thread_keepalive(self) -> None:
        return None  # mode wakes a thread's idle loop; this loop is the app's

    async def on_stop(self) -> None:
        await self.on_thread_stop()  # Faust stops its aiokafka consumer there

    async def call_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await maybe_async(fun(*args, **kwargs))  # Faust passes plain methods too


class _FetchLimitedConsumer(RetriedCommits):
    consumer_thread: _ConsumerThread | None = None

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        in_loop = not getattr(self.transport, "consumer_thread", True)
        kind = _InLoopConsumerThread if in_loop else _ConsumerThread
        self.consumer_thread = kind(self, loop=self.loop, beacon=self.beacon)
        return self.consumer_thread


class _Consumer(_FetchLimitedConsumer):
    _fetch_delivered: asyncio.Event | None = None

    @property
    def fetch_delivered(self) -> asyncio.Event:
        """Set once every message of the last fetch has been handed to the conductor
        (cleared when the next fetch's first message is)."""
        if self._fetch_delivered is None:
            self._fetch_delivered = asyncio.Event()
        return self._fetch_delivered

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        # Faust 0.15.3's loop (pinned below 0.16), with one ``MessageHandoff.run`` task a
        # fetch for its per-message ``wait_first``; see the module docstring.
        callback = unlocked_dispatch(self.callback, self.app)  # ours: no lock a message
        getmany = self.getmany
        listed = getmany_is_the_copied_one()  # ours: a fetch's messages listed at once
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
        delivered = self.fetch_delivered  # ours: lets a batch close when a fetch is in
        yield_every = 100

        async def deliver_fetch(fetched: list[tuple[Any, Any]], done: list[int]) -> None:
            # Faust's per-message body; ``done[0]``: messages handled so far.
            num_since_yield = 0
            for tp, message in fetched:
                num_since_yield += 1
                if num_since_yield > yield_every:
                    await asyncio.sleep(0)
                    num_since_yield = 0
                offset = message.offset
                r_offset = get_read_offset(tp)
                if r_offset is None or offset >= r_offset:
                    gap = offset - (r_offset or 0)
                    # Shielded: giving up a fetch (a suspended flow) must not cut these.
                    if gap > 1 and r_offset and acks_enabled_for(message.topic):
                        await asyncio.shield(self._add_gap(tp, r_offset + 1, offset))
                    if commit_every is not None and self._n_acked >= commit_every:
                        self._n_acked = 0
                        await asyncio.shield(self.commit())
                    await callback(message)
                    set_read_offset(tp, offset)
                else:
                    self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                 offset, message.key, message.value)
                done[0] += 1

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                # Faust sleeps here: getmany may otherwise loop without yielding.
                await self.sleep(0)
                if not self.should_stop:
                    if listed:
                        fetched = await fetched_messages(self, 1.0)
                    else:
                        ait = cast(AsyncIterator[tuple[Any, Any]], getmany(timeout=1.0))
                        fetched = [pair async for pair in ait]
                    if fetched:
                        delivered.clear()
                        done = [0]
                        if not await handoff.run(deliver_fetch(fetched, done)):
                            # Given up (suspended, stopping): as Faust's loop does for
                            # each message it gives up, read on past the rest.
                            for tp, message in fetched[done[0]:]:
                                r_offset = get_read_offset(tp)
                                if r_offset is None or message.offset >= r_offset:
                                    set_read_offset(tp, message.offset)
                    delivered.set()
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


class _ProducerBuffer(ProducerBuffer):
    """Faust's buffer, reading ``producer_threaded`` once instead of for every message."""

    _threaded: bool | None = None

    @property
    def size(self) -> int:
        threaded = self._threaded
        if threaded is None:
            if self.app is None:  # not attached to a producer yet: Faust's own answer
                return cast(int, ProducerBuffer.size.fget(self))  # type: ignore[attr-defined]
            threaded = self._threaded = bool(self.app.conf.producer_threaded)
        if threaded:
            return cast(int, ProducerBuffer.size.fget(self))  # type: ignore[attr-defined]
        return self.pending.qsize()


class _Producer(faust_aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if type(self.buffer) is ProducerBuffer:  # same object, cheaper ``size``
            self.buffer.__class__ = _ProducerBuffer


class BoundedFetchTransport(faust_aiokafka.Transport):
    """The aiokafka transport whose worker consumer waits ``fetch_max_wait_ms`` at most,
    for ``fetch_min_bytes`` at least, and drains with ``MessageHandoff``; its producer's
    buffer reads its setting once (``_ProducerBuffer``)."""

    Consumer: ClassVar[type[ConsumerT]] = _Consumer
    Producer: ClassVar[type[ProducerT]] = _Producer
    fetch_max_wait_ms = 1500  # Faust's own values until ``use_fetch_limits`` sets them
    fetch_min_bytes = 1
    consumer_thread = True  # False: the consumer runs on the app's loop
    kafka_user: str | None = None  # named when the broker refuses a fetch


class _FaustLoopTransport(BoundedFetchTransport):
    """The fallback when Faust's drain loop is not the copied one: Faust's own loop."""

    Consumer = _FetchLimitedConsumer


def use_fetch_limits(app: faust.App, fetch_max_wait_ms: int, fetch_min_bytes: int, *,
                     consumer_thread: bool = False, kafka_user: str | None = None) -> None:
    """Make ``app``'s worker consumer wait at most ``fetch_max_wait_ms`` per fetch, for
    ``fetch_min_bytes`` of records at least (whichever comes first); without
    ``consumer_thread``, on the app's own loop instead of Faust's consumer thread.

    Call before anything touches ``app.transport`` (agents, topics): Faust
    builds the transport once, lazily. With a Faust this module does not fit (see
    the module docstring), Faust's own consumer, loop or both, with a warning.
    """
    if not consumer_thread_hook_exists():
        log.warning("faust_internals_changed", fallback="faust's own consumer",
                    fix="redo onexgen.streams.faust_internals for this Faust version")
        return
    kind = BoundedFetchTransport
    if not drain_loop_is_the_copied_one():
        log.warning("faust_internals_changed", fallback="faust's own drain loop",
                    fix="port Faust's Consumer._drain_messages into "
                    "onexgen.streams.faust_internals._Consumer, then update its hash")
        kind = _FaustLoopTransport
    transport = kind(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    transport.fetch_min_bytes = fetch_min_bytes
    if not consumer_thread and not in_loop_consumer_fits():
        log.warning("faust_internals_changed", fallback="faust's consumer thread",
                    fix="redo onexgen.streams.faust_internals._InLoopConsumerThread "
                    "for this mode version")
        consumer_thread = True
    transport.consumer_thread = consumer_thread
    transport.kafka_user = kafka_user
    app.transport = transport


def fetch_delivered(app: faust.App) -> asyncio.Event | None:
    """The event our drain loop sets once a fetch's messages are all delivered (None when
    Faust's own loop runs: then a batch closes on ``IDLE_LINGER_S`` instead)."""
    event = getattr(app.consumer, "fetch_delivered", None)
    return event if isinstance(event, asyncio.Event) else None


def prompt_fetches(app: faust.App) -> Callable[[bool], None]:
    """A switch for the worker consumer's fetches: ``switch(True)`` makes the next fetch
    requests return as soon as any record is there (min bytes 1), ``switch(False)``
    restores ``ONEXGEN_KAFKA_FETCH_MIN_BYTES``. A no-op with Faust's own consumer.

    Thread-safe enough: one int the consumer (thread) reads when it builds a request.
    """
    transport = app.transport
    economical = getattr(transport, "fetch_min_bytes", 1)
    state: list[bool | None] = [None]

    def switch(prompt: bool) -> None:
        if state[0] is prompt:
            return
        thread = getattr(app.consumer, "consumer_thread", None)
        consumer = getattr(thread, "worker_consumer", None)
        if consumer is not None and set_running_fetch_min_bytes(
                consumer, 1 if prompt else economical):
            state[0] = prompt

    return switch


def fetch_wait(app: faust.App) -> Callable[[int], None]:
    """A setter for the worker consumer's fetch wait: ``set_wait(ms)`` makes the next
    fetch requests wait at most ``ms`` at the broker (``streams.fetch_cadence``). A no-op
    with Faust's own consumer, and until the consumer has started (it fetches with the
    configured wait). Thread-safe enough, as ``prompt_fetches``."""
    state: list[int | None] = [None]

    def set_wait(ms: int) -> None:
        if state[0] == ms:
            return
        thread = getattr(app.consumer, "consumer_thread", None)
        consumer = getattr(thread, "worker_consumer", None)
        if consumer is not None and set_running_fetch_max_wait_ms(consumer, ms):
            state[0] = ms

    return set_wait
