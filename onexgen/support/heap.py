"""Keep the garbage collector off the startup heap.

Everything a process holds once it has started (imported libraries, compiled
templates, trained models) lives until the process ends, yet every full
collection walks all of it: measured at 87 ms a time in a warm pool process
(140,000 objects), a pause that every request in flight waits out. Freezing
that heap after start-up moves it to the permanent generation, so full
collections only walk what was allocated since. Cyclic garbage made later is
still collected as before.
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
