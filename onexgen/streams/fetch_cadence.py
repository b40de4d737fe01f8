"""How long the worker's next fetch may wait at the broker, given the backlog it holds.

In a burst the worker fetches the requests far faster than its pool generates them:
the whole burst is soon in the worker (the stream's channel, the batch buffer), and
every later fetch finds nothing, waits out the fetch wait (10 ms) and comes back empty.
Measured in session 15: 91 fetch requests a 1,000 requests, 88 of them empty, each about
100 µs of the worker's CPU (plus the broker's). While the worker holds a backlog those
fetches buy nothing: a request fetched sooner would only queue behind it.

``BacklogFetchWait`` lets the fetch wait grow with the backlog: half the time the pool
needs to drain what the worker holds (requests in the stream's channel, and batches
handed to the pool behind the one it works on; its pace measured from the batches it
finishes),
at most ``cap_ms``, never less than the configured wait. A fetch sent with that wait
returns (when the wait passes, or earlier once ``fetch_min_bytes`` of new records are
there) while the pool still has work, so nothing waits longer than it would have; when
the pool is idle, the backlog is nothing and the configured wait applies. Until the
pool's rate is known (the first batches), the configured wait applies too.

The same consumer fetches the other agents' topics (feedback): their records may wait
up to ``cap_ms`` while the codegen agent holds a backlog. Library-independent.
"""

from __future__ import annotations

import contextlib
from collections import deque

BACKLOG_FETCH_WAIT_CAP_MS = 100
"""The longest fetch wait a backlog buys (what the feedback topic may wait in a burst)."""

_SHARE = 0.5  # of the backlog's drain time: the fetch returns with half of it still left
_SMOOTHING = 0.3  # weight of the newest batch in the pool's time a request


class BacklogFetchWait:
    """The fetch wait (ms) for the requests the worker holds, from the pool's measured pace.

    The backlog is the requests waiting in the stream's channel plus those of the batches
    handed to the pool behind the oldest unfinished one (which may be nearly done: not
    counted). The pace is the pool's time a request over its busy stretches: from the
    moment an idle pool is handed a batch, or it finishes one with another still
    unfinished, to its next finished batch, divided by that batch's requests.
    """

    def __init__(self, base_ms: int, cap_ms: int = BACKLOG_FETCH_WAIT_CAP_MS) -> None:
        self.base_ms = base_ms
        self.cap_ms = max(cap_ms, base_ms)
        self.seconds_per_request: float | None = None
        """The pool's time a request while it is busy (smoothed), None until measured."""
        self._unfinished: deque[int] = deque()  # requests of each batch the pool holds
        self._since: float | None = None  # start of the interval the next sample covers

    def handed(self, requests: int, now: float, waiting: int) -> int:
        """The pool was handed a batch of ``requests``; ``waiting``: requests in the
        channel. Returns the fetch wait (ms) for what the worker holds now."""
        if not self._unfinished:
            self._since = now  # an idle pool starts on it now
        self._unfinished.append(requests)
        return self.wait_ms(waiting)

    def finished(self, requests: int, now: float, waiting: int) -> int:
        """The pool finished a batch of ``requests``. Returns the fetch wait (ms)."""
        with contextlib.suppress(ValueError):
            self._unfinished.remove(requests)  # the oldest of that size: batches go in order
        since = self._since
        if since is not None and requests > 0 and now > since:
            sample = (now - since) / requests
            old = self.seconds_per_request
            self.seconds_per_request = sample if old is None else (
                old + _SMOOTHING * (sample - old))
        self._since = now if self._unfinished else None
        return self.wait_ms(waiting)

    def backlog(self, waiting: int) -> int:
        """Requests the pool will take after the batch it works on now."""
        held = self._unfinished
        return waiting + (sum(held) - held[0] if held else 0)

    def wait_ms(self, waiting: int) -> int:
        """The fetch wait for ``waiting`` requests in the channel and the batches held."""
        pace = self.seconds_per_request
        backlog = self.backlog(waiting)
        if pace is None or backlog <= 0:
            return self.base_ms
        wait = int(backlog * pace * _SHARE * 1000)
        return min(self.cap_ms, max(self.base_ms, wait))
