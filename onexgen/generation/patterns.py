"""Detected patterns as the engine uses them: one detector per process, optional.

Detection shapes the package (a "Detected patterns" section in the README, a
``patterns`` list in contract.yaml, mixin suggestions on the result) and is
reported on the result. The detector is the stored version the worker hands to
its pool processes, or the default one trained from the shipped labelled set.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from onexgen.models.wire import DetectedPatternInfo, GenerationRequest

if TYPE_CHECKING:
    from onexgen.learning.patterns.detector import PatternDetector


class PatternStage:
    """``detect(request)`` -> patterns with confidence and the mixins they suggest."""

    def __init__(self, enabled: bool, model: bytes | None) -> None:
        self.enabled = enabled
        self._model = model
        self._detector: PatternDetector | None = None
        self._primed: dict[tuple[str, tuple[tuple[str, str], ...]], list[DetectedPatternInfo]] = {}
        self._lock = threading.Lock()

    def _get(self) -> PatternDetector:
        with self._lock:
            if self._detector is None:
                if self._model is not None:
                    from onexgen.learning.patterns.persist import from_bytes

                    self._detector = from_bytes(self._model)
                else:
                    from onexgen.learning.patterns.training import default_detector

                    self._detector = default_detector()
            return self._detector

    def prime(self, requests: list[GenerationRequest]) -> None:
        """One batched detection for many requests (scikit-learn's per-call overhead
        dominates a single request); ``detect`` serves them from here."""
        if not self.enabled or not requests:
            return
        found = self._get().detect_many(requests)
        with self._lock:
            if len(self._primed) > _MAX_PRIMED:
                self._primed.clear()
            for request, patterns in zip(requests, found, strict=True):
                self._primed[_text_key(request)] = [_info(p.name, p.confidence)
                                                    for p in patterns]

    def detect(self, request: GenerationRequest) -> list[DetectedPatternInfo]:
        if not self.enabled:
            return []
        with self._lock:
            primed = self._primed.pop(_text_key(request), None)
        if primed is not None:
            return primed
        return [_info(p.name, p.confidence) for p in self._get().detect(request)]


_MAX_PRIMED = 10_000


def _text_key(request: GenerationRequest) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What detection reads: the description and the operations."""
    return request.description, tuple((o.name, o.description) for o in request.operations)


def _info(name: str, confidence: float) -> DetectedPatternInfo:
    from onexgen.learning.patterns.library import definition_of

    return DetectedPatternInfo(name=name, confidence=round(float(confidence), 4),
                               suggested_mixins=list(definition_of(name).mixins))


def suggested_mixins(request: GenerationRequest, patterns: list[DetectedPatternInfo]) -> list[str]:
    """Mixins the detected patterns suggest that the request does not already have."""
    have = set(request.mixins)
    out: list[str] = []
    for p in patterns:
        for m in p.suggested_mixins:
            if m not in have and m not in out:
                out.append(m)
    return out
