"""Errors of the pattern matcher, under one root so callers can catch them together.

    PatternError
    ├── UnknownPatternError   a name that is not in the pattern library
    ├── DatasetError          a labeled line that cannot be read (carries the line number)
    ├── ModelFormatError      saved model bytes that cannot be loaded
    └── EmbeddingError        shipped token vectors that cannot be used (rebuild them)
"""

from __future__ import annotations

from collections.abc import Sequence


class PatternError(Exception):
    """Root of the pattern matcher's errors."""


class UnknownPatternError(PatternError, ValueError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown pattern {name!r}; use one of: {', '.join(known)}")
        self.name = name


class DatasetError(PatternError, ValueError):
    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class ModelFormatError(PatternError, ValueError):
    """Saved bytes are not a pattern model of this version: retrain (`onexgen patterns train`)."""


class EmbeddingError(PatternError, ValueError):
    """The token vectors or their manifest are damaged or not ours: `make embeddings`."""
