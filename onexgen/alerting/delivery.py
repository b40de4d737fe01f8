"""Delivery of notifications: one queue and one worker task per receiver, retried until taken.

A receiver that is down must not lose notifications nor hold up the others:

* each receiver has its own FIFO queue and task, so a dead Slack does not delay
  e-mail;
* a retryable failure keeps the notification at the head of its queue and
  retries it with exponential backoff (``retry_initial_s`` doubling up to
  ``retry_max_s``, with jitter); later notifications wait behind it, so the
  receiver sees them in order once it is back;
* a non-retryable failure (the receiver refused the request itself: bad URL,
  bad token) drops that notification with an error log and a ``dropped``
  count - retrying would repeat the refusal forever;
* a disabled receiver (secret not configured) counts every notification for
  it as ``dropped`` at once.

The queues are in memory: they survive any receiver downtime, but not a
restart of the worker. After a restart the rule engine re-sends still-firing
alerts within ``resend_interval_s``, so firing alerts are notified again;
only resolved notifications queued at the moment of the crash can be lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Mapping

import structlog

from onexgen.alerting.errors import DeliveryError
from onexgen.alerting.metrics import NotificationMetrics
from onexgen.alerting.receivers.base import Notification, Receiver

__all__ = ["DeliveryQueue"]

log = structlog.get_logger("onexgen.alerts.delivery")


class DeliveryQueue:
    """Per-receiver FIFO queues drained by one task each; :meth:`submit` never blocks."""

    def __init__(self, receivers: Mapping[str, Receiver], *, disabled: tuple[str, ...] = (),
                 metrics: NotificationMetrics | None = None, retry_initial_s: float = 0.5,
                 retry_max_s: float = 60.0, send_timeout_s: float = 30.0) -> None:
        self.receivers = dict(receivers)
        self.disabled = set(disabled)
        self.metrics = metrics
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.send_timeout_s = send_timeout_s
        self._queues: dict[str, deque[Notification]] = {n: deque() for n in self.receivers}
        self._wake: dict[str, asyncio.Event] = {n: asyncio.Event() for n in self.receivers}
        self._idle: dict[str, asyncio.Event] = {n: asyncio.Event() for n in self.receivers}
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered: dict[str, int] = dict.fromkeys(self.receivers, 0)
        for name in self.receivers:
            self._idle[name].set()
            if metrics is not None:
                metrics.register_receiver(name)

    def submit(self, notification: Notification) -> None:
        name = notification.receiver
        queue = self._queues.get(name)
        if queue is None:
            reason = "disabled" if name in self.disabled else "unknown"
            if self.metrics is not None:
                self.metrics.notifications.labels(receiver=name, outcome="dropped").inc()
            log.info("notification_not_sent", receiver=name, reason=reason,
                     group_key=notification.group_key)
            return
        queue.append(notification)
        self._idle[name].clear()
        self._wake[name].set()
        self._depth(name)

    def pending(self, receiver: str | None = None) -> int:
        if receiver is not None:
            return len(self._queues.get(receiver, ()))
        return sum(len(q) for q in self._queues.values())

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
                if not retryable:
                    queue.popleft()
                    self._count(name, "dropped")
                    log.error("notification_dropped", receiver=name, error=str(exc),
                              group_key=notification.group_key)
                    continue
                failures += 1
                self._count(name, "retried")
                if failures == 1 or failures % 10 == 0:  # a long outage logs, but not every try
                    log.warning("notification_retry", receiver=name, attempt=failures,
                                error=str(exc) or type(exc).__name__, pending=len(queue),
                                retry_in_s=round(delay, 3))
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.retry_max_s)
                continue
            except Exception as exc:  # a receiver bug must not kill the queue: retry as outage
                failures += 1
                self._count(name, "retried")
                log.exception("notification_receiver_error", receiver=name,
                              error_type=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
                continue
            queue.popleft()
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

    def _count(self, name: str, outcome: str) -> None:
        self._depth(name)
        if self.metrics is not None:
            self.metrics.notifications.labels(receiver=name, outcome=outcome).inc()
