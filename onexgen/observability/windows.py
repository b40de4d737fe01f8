"""Sliding time windows over live figures, cheap enough to read on every rule evaluation.

Three shapes cover every rule input:

* :class:`SampleWindow` - individual observations (latencies, durations); read as
  mean, max, min or a percentile over the last ``span_s`` seconds.
* :class:`RatioWindow` - pairs of counts (successes of a total, cache hits of
  lookups); read as ``sum(numerator) / sum(denominator)`` over the window, so a
  batch of 500 weighs 500 times a batch of one.
* :class:`GaugeValue` - the latest value someone set (model accuracy after a
  retrain); optionally stale after ``stale_after_s`` so a dead producer of the
  figure reads as "no data" instead of a frozen value.

Windows keep at most ``capacity`` samples (oldest dropped first) so memory and
read time stay bounded under any load; a percentile over the newest
``capacity`` samples is what a dashboard shows anyway. Reads cache their
result until the next write or until a sample ages out, so evaluating 21 rules
every few seconds costs microseconds, not a sort per rule.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Literal

__all__ = ["Aggregate", "GaugeValue", "RatioWindow", "SampleWindow", "percentile"]

Aggregate = Literal["mean", "max", "min", "sum", "rate", "p50", "p90", "p95", "p99"]


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated ``q`` quantile (0..1) of already sorted values (numpy's default)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = (len(sorted_values) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


class _Samples:
    """The observations of one or more windows (see ``SampleWindow.sharing``): their times
    and values in two aligned deques (a read sorts or sums the values deque in C, with no
    per-sample unpacking), a change count, and the values sorted at a given count."""

    __slots__ = ("changes", "ordered", "times", "values")

    def __init__(self, capacity: int) -> None:
        self.times: deque[float] = deque(maxlen=capacity)
        self.values: deque[float] = deque(maxlen=capacity)
        self.changes = 0
        self.ordered: tuple[int, list[float]] = (-1, [])

    def sorted_values(self) -> list[float]:
        if self.ordered[0] != self.changes:
            self.ordered = (self.changes, sorted(self.values))
        return self.ordered[1]


class SampleWindow:
    """Observations of the last ``span_s`` seconds, aggregated on read."""

    __slots__ = ("_cache", "_store", "aggregate", "capacity", "span_s")

    def __init__(self, span_s: float, aggregate: Aggregate = "mean", capacity: int = 4096) -> None:
        if span_s <= 0 or capacity < 1:
            raise ValueError("span_s must be > 0 and capacity >= 1")
        self.span_s = span_s
        self.aggregate = aggregate
        self.capacity = capacity
        self._store = _Samples(capacity)
        self._cache: tuple[int, float, float | None] | None = None  # (changes, until, value)

    def sharing(self, aggregate: Aggregate) -> SampleWindow:
        """Another aggregate over this window's very observations (same span, same
        samples): e.g. p50, p95 and p99 of one latency stream, written once and sorted
        once per change instead of three times."""
        other = SampleWindow(self.span_s, aggregate, self.capacity)
        other._store = self._store
        return other

    def add(self, now: float, value: float, count: int = 1) -> None:
        store = self._store
        store.times.extend(repeat(now, count))
        store.values.extend(repeat(value, count))
        store.changes += 1

    def add_many(self, now: float, values: Sequence[float]) -> None:
        """``add(now, v)`` for each of ``values`` (the same samples, so the same reads),
        in one step: one extend and one change instead of a call each."""
        if values:
            store = self._store
            store.times.extend(repeat(now, len(values)))
            store.values.extend(values)
            store.changes += 1

    def _prune(self, now: float) -> None:
        horizon = now - self.span_s
        store = self._store
        times, values = store.times, store.values
        while times and times[0] < horizon:
            times.popleft()
            values.popleft()
            store.changes += 1

    def __len__(self) -> int:
        return len(self._store.times)

    def value(self, now: float) -> float | None:
        """The aggregate over the window, or None when the window is empty."""
        self._prune(now)
        store = self._store
        cache = self._cache
        if cache is not None and cache[0] == store.changes and now <= cache[1]:
            return cache[2]
        times = store.times
        result: float | None
        if not times:
            result = None
        elif self.aggregate == "rate":
            result = sum(store.values) / self.span_s
        elif self.aggregate.startswith("p"):
            result = percentile(store.sorted_values(), int(self.aggregate[1:]) / 100)
        else:
            result = _aggregate(store.values, self.aggregate)
        # valid until the oldest sample ages out (a write also clears it)
        until = times[0] + self.span_s if times else math.inf
        self._cache = (store.changes, until, result)
        return result


def _aggregate(values: deque[float], how: Aggregate) -> float:
    if how == "mean":
        return math.fsum(values) / len(values)
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "sum":
        return math.fsum(values)
    return percentile(sorted(values), int(how[1:]) / 100)


class RatioWindow:
    """``sum(numerator) / sum(denominator)`` over the last ``span_s`` seconds."""

    __slots__ = ("_den", "_num", "_samples", "span_s")

    def __init__(self, span_s: float) -> None:
        if span_s <= 0:
            raise ValueError("span_s must be > 0")
        self.span_s = span_s
        self._samples: deque[tuple[float, float, float]] = deque()
        self._num = 0.0
        self._den = 0.0

    def add(self, now: float, numerator: float, denominator: float) -> None:
        if denominator < 0 or numerator < 0:
            raise ValueError(f"ratio counts must be >= 0, got {numerator}/{denominator}")
        if denominator == 0:
            return
        self._samples.append((now, numerator, denominator))
        self._num += numerator
        self._den += denominator

    def value(self, now: float) -> float | None:
        horizon = now - self.span_s
        samples = self._samples
        while samples and samples[0][0] < horizon:
            _, num, den = samples.popleft()
            self._num -= num
            self._den -= den
        if not samples or self._den <= 0:
            self._num = self._den = 0.0  # forget float drift once empty
            return None
        return self._num / self._den

    def totals(self, now: float) -> tuple[float, float]:
        self.value(now)
        return self._num, self._den


class GaugeValue:
    """The last value set; None before the first set or once older than ``stale_after_s``."""

    __slots__ = ("_at", "_value", "stale_after_s")

    def __init__(self, stale_after_s: float | None = None) -> None:
        self.stale_after_s = stale_after_s
        self._value: float | None = None
        self._at = 0.0

    def set(self, now: float, value: float) -> None:
        self._value = value
        self._at = now

    def value(self, now: float) -> float | None:
        if self._value is None:
            return None
        if self.stale_after_s is not None and now - self._at > self.stale_after_s:
            return None
        return self._value


Clock = Callable[[], float]
"""Seconds since the epoch; ``time.time`` in production, a fake in tests."""
