"""The check every copy of a library's code makes before it is used.

Each copy (Faust's drain loop, a conductor's dispatch, a stream's per-event bookkeeping;
aiokafka's connection ``send``) is used only when the installed library's source of what
it copies is, byte for byte, the source it was copied from: its SHA-256 is pinned next to
the copy. Here, below both adapters (``streams.faust_internals``,
``streams.aiokafka_internals``), so each imports it without importing the other.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any


def source_hash(*functions: Any) -> str | None:
    """SHA-256 of the functions' sources, one after another (None if one is unreadable,
    e.g. gone from Faust: pass ``getattr(cls, name, None)``)."""
    try:
        source = "".join(inspect.getsource(f) for f in functions)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


def source_is(expected: str, *functions: Any) -> bool:
    """Whether the functions' sources are the ones whose SHA-256 is ``expected``."""
    return source_hash(*functions) == expected
