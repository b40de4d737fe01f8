"""Pickling a dataclass as its constructor's arguments.

A dataclass with ``slots=True`` pickles through Python-level ``__getstate__`` and
``__setstate__`` that walk its fields one ``setattr`` at a time; answers crossing the
generation pool's pipes (the ``CompositionOutcome`` a ``JobOutcome`` carries; the outcome
itself is a named tuple now) paid that per request. ``pickled_by_constructor`` gives the
class a ``__reduce__`` that hands back ``(cls, field values)``, read by one ``attrgetter``
built from the class's own fields, so a field added later is pickled too.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, TypeVar

T = TypeVar("T")


def pickled_by_constructor(cls: type[T]) -> type[T]:
    """Class decorator (over ``@dataclass``): pickle instances as ``cls(*fields)``."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if len(names) < 2:
        raise TypeError(f"{cls.__name__} needs two fields or more (attrgetter gives a tuple)")
    values = operator.attrgetter(*names)

    def __reduce__(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls
