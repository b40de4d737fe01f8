"""How long the worker's next fetch may wait at the broker, given the backlog it holds.

In a burst the worker fetches the requests far faster than its pool generates them:
the whole burst is soon in the worker (the stream's channel, the batch buffer), and
every later fetch finds nothing, waits out the fetch wait (10 ms) and comes back empty.
Measured in session 15: 91 fetch requests a 1,000 requests, 88 of them empty, each about
100 µs of the worker's CPU (plus the broker's). While the worker holds a backlog those
fetches buy nothing: a request fetched sooner would only queue behind it.

``BacklogFetchWait`` lets the fetch wait grow with the backlog: half the time the pool
needs to drain what the worker holds (its rate measured from the batches it finishes),
at most ``cap_ms``, never less than the configured wait. A fetch sent with that wait
returns (when the wait passes, or earlier once ``fetch_min_bytes`` of new records are
there) while the pool still has work, so nothing waits longer than it would have; when
the pool is idle, the backlog is nothing and the configured wait applies. Until the
pool's rate is known (the first batches), the configured wait applies too.

The same consumer fetches the other agents' topics (feedback): their records may wait
up to ``cap_ms`` while the codegen agent holds a backlog. Library-independent.
"""

from __future__ import annotations

BACKLOG_FETCH_WAIT_CAP_MS = 100
"""The longest fetch wait a backlog buys (what the feedback topic may wait in a burst)."""

_SHARE = 0.5  # of the backlog's drain time: the fetch returns with half of it still left
_SMOOTHING = 0.3  # weight of the newest batch in the pool's time a request


class BacklogFetchWait:
    """The fetch wait (ms) for a backlog of requests, from the pool's measured pace."""

    def __init__(self, base_ms: int, cap_ms: int = BACKLOG_FETCH_WAIT_CAP_MS) -> None:
        self.base_ms = base_ms
        self.cap_ms = max(cap_ms, base_ms)
        self.seconds_per_request: float | None = None
        """The pool's time a request while it is busy (smoothed), None until measured."""
        self._since: float | None = None  # when the pool's current saturated stretch, or
        # its last finished batch within it, began

    def pool_busy(self, now: float, *, backlog: int) -> None:
        """The pool was idle and has been handed a batch, with ``backlog`` requests
        waiting behind it."""
        self._since = now if backlog > 0 else None

    def pool_finished(self, requests: int, now: float, *, backlog: int) -> None:
        """The pool finished a batch of ``requests``; ``backlog``: requests still waiting
        to be given to it (0: the time to its next batch is not its own pace)."""
        since = self._since
        if since is not None and requests > 0 and now > since:
            sample = (now - since) / requests
            old = self.seconds_per_request
            self.seconds_per_request = sample if old is None else (
                old + _SMOOTHING * (sample - old))
        self._since = now if backlog > 0 else None

    def wait_ms(self, backlog: int) -> int:
        """The fetch wait for ``backlog`` requests held and not yet given to the pool."""
        pace = self.seconds_per_request
        if pace is None or backlog <= 0:
            return self.base_ms
        wait = int(backlog * pace * _SHARE * 1000)
        return min(self.cap_ms, max(self.base_ms, wait))
