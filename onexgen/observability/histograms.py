"""A batch of observations into one Prometheus histogram, with the same result as one by one.

``Histogram.observe`` takes two locks and scans the bucket bounds for every value; the
batch processor observes three histograms for every request of a batch. ``observe_many``
buckets the batch with ``bisect`` and adds each bucket's count and the sum once, under
one lock each: the buckets, count and sum read exactly as after ``observe`` per value
(the sum is accumulated value by value, in order, so even its float rounding is the same).

It reads prometheus-client internals (``_upper_bounds``, ``_buckets``, ``_sum`` and
``MutexValue``'s ``_value``/``_lock``); anything else (multiprocess values, a changed
client) takes the public ``observe`` per value, and
``tests/unit/observability/test_library_internals.py`` fails loudly when the fast path
is lost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from prometheus_client import Histogram
from prometheus_client.values import MutexValue

__all__ = ["fast_path", "observe_many"]


def fast_path(histogram: Histogram) -> bool:
    """Whether ``observe_many`` adds ``histogram``'s values in one step (not one by one)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    return (isinstance(bounds, list) and isinstance(buckets, list)
            and len(bounds) == len(buckets) and type(total) is MutexValue
            and all(type(b) is MutexValue for b in buckets))


def observe_many(histogram: Histogram, amounts: Sequence[float]) -> None:
    """``histogram.observe(a)`` for each of ``amounts``, in one step where the client allows.

    ``histogram`` is a child (``labels(...)`` already applied) or an unlabelled metric.
    """
    if not amounts:
        return
    if not fast_path(histogram):
        for amount in amounts:
            histogram.observe(amount)
        return
    histogram._raise_if_not_observable()  # type: ignore[no-untyped-call]  # untyped upstream
    bounds: list[float] = histogram._upper_bounds
    counts = [0] * len(bounds)
    for amount in amounts:
        if amount == amount:  # NaN: observe adds it to the sum and to no bucket
            counts[bisect_left(bounds, amount)] += 1  # the first bound >= amount
    total: MutexValue = histogram._sum  # a MutexValue: fast_path checked it
    with total._lock:
        value = total._value
        for amount in amounts:  # in order: the same float rounding as one observe each
            value += amount
        total._value = value
    buckets: list[MutexValue] = histogram._buckets  # likewise
    for bucket, count in zip(buckets, counts, strict=True):
        if count:
            with bucket._lock:
                bucket._value += count
