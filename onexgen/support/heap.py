"""Keep the garbage collector off the startup heap.

Everything a process holds once it has started (imported libraries, compiled
templates, trained models) lives until the process ends, yet every full
collection walks all of it: measured at 87 ms a time in a warm pool process
(140,000 objects), a pause that every request in flight waits out. Freezing
that heap after start-up moves it to the permanent generation, so full
collections only walk what was allocated since. Cyclic garbage made later is
still collected as before.

The worker also collects its youngest generation less often
(``collect_young_every``): at CPython's default, after every 700 net container
allocations, it collected many times a batch of results (unpickled outcomes, records,
rows) while most of what it walked was still alive and got promoted, so those
collections were a visible share of the worker's CPU (measured with ``gc.callbacks``:
BENCHMARKS.md, issue 25). The young objects held the longer are a few megabytes at most.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then exempt every surviving object from later collections.

    Returns how many objects are now frozen (reported in the start-up log).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


WORKER_YOUNG_COLLECTION_EVERY = 10_000
"""The worker's youngest-generation threshold (CPython's default is 700)."""


def collect_young_every(allocations: int) -> None:
    """Collect the youngest generation after ``allocations`` net container allocations
    (the older generations keep their ratios to it)."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(allocations, middle, oldest)
