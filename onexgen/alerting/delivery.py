"""Delivery of notifications: one queue and one worker task per integration.

A receiver that is down must not lose notifications nor hold up the others,
and one bad notification must not hold up the good ones behind it:

* each integration (``ops/webhook/0``) has its own FIFO queue and task, so a
  dead Slack does not delay e-mail; a notification for a receiver is copied to
  each of its integrations, without its resolved alerts for an integration
  with ``send_resolved: false`` (and not at all if nothing is left);
* a retryable failure (connection refused, timeout, 5xx, 429, SMTP 4xx) keeps
  the notification at the head of its queue and retries it with exponential
  backoff (``retry_initial`` doubling up to ``retry_max``, with jitter), up to
  ``retry_attempts`` tries; later notifications wait behind it so the receiver
  sees them in order once it is back. After the last try it is parked;
* a permanent failure - the receiver refused the request itself (bad URL or
  token), or the message cannot even be built (poison: a header with CR/LF),
  or the channel raised something unexpected - is parked at once: an error log
  line, ``onexgen_notifications_total{outcome="failed"}``, and the notification
  kept in :attr:`DeliveryQueue.failed` (the last 100) for inspection. The next
  notification goes out immediately.

The queues are in memory: they survive any receiver downtime, but not a
restart of the worker. What a crash loses here is not lost for good: the
alert-manager agent commits an alert's offset only once the notifications it
caused have left these queues (:meth:`DeliveryQueue.mark` /
:meth:`DeliveryQueue.passed`), so the next holder of the alerts partition reads
it again (see :mod:`onexgen.alerting.service`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

import structlog

from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.metrics import NotificationMetrics
from onexgen.alerting.receivers.base import Notification, Receiver

__all__ = ["DeliveryQueue", "FailedNotification"]

log = structlog.get_logger("onexgen.alerts.delivery")


@dataclass(frozen=True, slots=True)
class FailedNotification:
    """A notification given up on: which integration, why, after how many tries."""

    integration: str
    notification: Notification
    error: str
    attempts: int
    at: float


class DeliveryQueue:
    """Per-integration FIFO queues drained by one task each; :meth:`submit` never blocks."""

    def __init__(self, receivers: Mapping[str, Receiver], *,
                 fanout: Mapping[str, list[str]] | None = None,
                 metrics: NotificationMetrics | None = None, retry_initial_s: float = 0.5,
                 retry_max_s: float = 60.0, retry_attempts: int = 20,
                 send_timeout_s: float = 30.0) -> None:
        self.receivers = dict(receivers)
        self.fanout = {k: list(v) for k, v in (fanout or {n: [n] for n in receivers}).items()}
        self.metrics = metrics
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.retry_attempts = retry_attempts
        self.send_timeout_s = send_timeout_s
        self.failed: deque[FailedNotification] = deque(maxlen=100)
        self._queues: dict[str, deque[Notification]] = {n: deque() for n in self.receivers}
        self._wake: dict[str, asyncio.Event] = {n: asyncio.Event() for n in self.receivers}
        self._idle: dict[str, asyncio.Event] = {n: asyncio.Event() for n in self.receivers}
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered: dict[str, int] = dict.fromkeys(self.receivers, 0)
        self._queued: dict[str, int] = dict.fromkeys(self.receivers, 0)
        self._finished: dict[str, int] = dict.fromkeys(self.receivers, 0)
        """Per integration, notifications ever queued / ever taken off (sent or parked)."""
        for name in self.receivers:
            self._idle[name].set()
            if metrics is not None:
                metrics.register_receiver(name)

    def submit(self, notification: Notification) -> None:
        """Queue ``notification`` on each integration of its receiver."""
        names = self.fanout.get(notification.receiver)
        if names is None:
            if self.metrics is not None:
                self.metrics.notifications.labels(receiver=notification.receiver,
                                                  outcome="dropped").inc()
            log.info("notification_not_sent", receiver=notification.receiver,
                     reason="unknown receiver", group_key=notification.group_key)
            return
        for name in names:
            copy = notification
            if not self.receivers[name].send_resolved:
                firing = tuple(notification.firing)
                if not firing:
                    continue
                copy = replace(notification, alerts=firing)
            self._queues[name].append(copy)
            self._queued[name] += 1
            self._idle[name].clear()
            self._wake[name].set()
            self._depth(name)

    def pending(self, receiver: str | None = None) -> int:
        if receiver is not None:
            return len(self._queues.get(receiver, ()))
        return sum(len(q) for q in self._queues.values())

    def mark(self) -> dict[str, int]:
        """A barrier behind everything queued so far (see :meth:`passed`)."""
        return dict(self._queued)

    def passed(self, mark: dict[str, int]) -> bool:
        """True once every notification queued before ``mark`` was sent or parked.

        The queues are FIFO, so counting what left each one is enough.
        """
        return all(self._finished[name] >= count for name, count in mark.items())

    def _depth(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.queue_depth.labels(receiver=name).set(len(self._queues[name]))

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._drain(name), name=f"deliver-{name}")
                           for name in self.receivers]

    async def wait_idle(self, timeout_s: float) -> bool:
        """True once every queue is empty, False if ``timeout_s`` passed first."""
        try:
            async with asyncio.timeout(timeout_s):
                for event in self._idle.values():
                    await event.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Give queued notifications ``drain_timeout_s`` to go out, then stop the tasks."""
        if not self._tasks:
            return
        if not await self.wait_idle(drain_timeout_s):
            log.warning("notifications_undelivered_at_stop", pending=self.pending())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for receiver in self.receivers.values():
            await receiver.close()

    async def _drain(self, name: str) -> None:
        receiver = self.receivers[name]
        queue = self._queues[name]
        wake = self._wake[name]
        delay = self.retry_initial_s
        failures = 0
        while True:
            if not queue:
                self._idle[name].set()
                wake.clear()
                await wake.wait()
                continue
            notification = queue[0]
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    await receiver.send(notification)
            except (DeliveryError, TimeoutError) as exc:
                retryable = not isinstance(exc, DeliveryError) or exc.retryable
                failures += 1
                if not retryable or failures >= self.retry_attempts:
                    self._park(name, notification, exc, failures)
                    failures, delay = 0, self.retry_initial_s
                    continue
                self._count(name, "retried")
                if failures == 1 or failures % 10 == 0:  # a long outage logs, but not every try
                    log.warning("notification_retry", receiver=name, attempt=failures,
                                error=str(exc) or type(exc).__name__, pending=len(queue),
                                retry_in_s=round(delay, 3))
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.retry_max_s)
                continue
            except Exception as exc:  # a channel bug repeats on every try: park, go on
                self._park(name, notification, exc, failures + 1)
                failures, delay = 0, self.retry_initial_s
                continue
            queue.popleft()
            self._finished[name] += 1
            if failures:
                log.info("notification_delivered_after_retries", receiver=name,
                         attempts=failures + 1)
            failures = 0
            delay = self.retry_initial_s
            self.delivered[name] += 1
            self._count(name, "delivered")
            if self.metrics is not None:
                self.metrics.delivery_duration.labels(receiver=name).observe(
                    max(time.time() - notification.created_at, 0.0))

    def _park(self, name: str, notification: Notification, exc: BaseException,
              attempts: int) -> None:
        """Give up on the head notification: log, count, keep it, move on."""
        self._queues[name].popleft()
        self._finished[name] += 1
        error = str(exc) or type(exc).__name__
        self.failed.append(FailedNotification(name, notification, error, attempts, time.time()))
        self._count(name, "failed")
        log.error("notification_failed", receiver=name, error=error, attempts=attempts,
                  error_type=type(exc).__name__, group_key=notification.group_key,
                  alerts=[a.fingerprint for a in notification.alerts],
                  hint="kept in the delivery queue's failed list; later notifications go on")

    def _count(self, name: str, outcome: str) -> None:
        self._depth(name)
        if self.metrics is not None:
            self.metrics.notifications.labels(receiver=name, outcome=outcome).inc()
