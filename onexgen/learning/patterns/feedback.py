"""The feedback loop: verdicts on detections become weighted examples and new thresholds.

What each feedback type means for pattern ``P = pattern_name`` (weight ``w`` is
1.0 from a user, 0.5 from an automated source; ``weights.py``):

    correct    P was right                      -> P positive, w
    incorrect  P should not have been detected  -> P negative, w
    partial    P is there, detection incomplete -> P positive, w * 0.5
               (and ``actual_pattern``, if given and different, positive, w * 0.5)
    adjusted   the actual pattern is A          -> A positive, w; P negative, w
               when A != P. A == P means "P was missed": only P positive.

A verdict about one pattern says nothing about the others, so each example is
per pattern. ``FeedbackLearner.apply`` updates the models (a few gradient steps,
each column's step smaller the more training requests have it, a sample of training
requests rehearsed: ``plasticity``) and
re-tunes the thresholds of the patterns it touched, on the detector's kept
evidence plus the new verdicts at the confidence the detector gave before the
update (what it will be judged on next time).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.detector import (
    PatternDetector,
    TrainingExample,
)
from onexgen.learning.patterns.library import PATTERN_NAMES, check_pattern
from onexgen.learning.patterns.plasticity import TrainingMemory, feature_steps, shipped_memory
from onexgen.learning.patterns.thresholds import Evidence
from onexgen.learning.patterns.weights import PARTIAL_FACTOR, weight_for
from onexgen.models.wire import (
    FeedbackSource,
    GenerationRequest,
    PatternFeedback,
    PatternFeedbackType,
)

FeedbackItem = tuple[PatternFeedback, GenerationRequest]
"""A feedback event and the request it refers to (looked up by ``request_id``)."""


def examples_from_feedback(items: Sequence[FeedbackItem]) -> list[TrainingExample]:
    """Weighted per-pattern examples, by the table in the module docstring."""
    out: list[TrainingExample] = []
    for event, request in items:
        w = weight_for(event.source)
        p, actual = check_pattern(event.pattern_name), event.actual_pattern
        kind = event.feedback_type
        if kind is PatternFeedbackType.CORRECT:
            out.append(TrainingExample(request, p, True, w))
        elif kind is PatternFeedbackType.INCORRECT:
            out.append(TrainingExample(request, p, False, w))
        elif kind is PatternFeedbackType.PARTIAL:
            out.append(TrainingExample(request, p, True, w * PARTIAL_FACTOR))
            if actual and actual != p:
                out.append(TrainingExample(request, check_pattern(actual), True,
                                           w * PARTIAL_FACTOR))
        else:  # adjusted
            target = check_pattern(actual) if actual else p
            out.append(TrainingExample(request, target, True, w))
            if target != p:
                out.append(TrainingExample(request, p, False, w))
    return out


@dataclass(frozen=True, slots=True)
class FeedbackUpdate:
    events: int
    examples: int
    seconds: float
    """Wall time of the whole batch, featurising the requests included."""
    update_seconds: float
    """Model update and threshold re-tune alone (features already built)."""
    thresholds: dict[str, float]


class FeedbackLearner:
    """Applies feedback batches to one detector: model update, then threshold re-tune."""

    def __init__(self, detector: PatternDetector,
                 target_precision: float | None = None,
                 memory: TrainingMemory | None = None) -> None:
        """``target_precision``: default, the one the detector's thresholds were tuned for.
        ``memory``: the training requests' feature frequencies and rehearsal sample
        (``plasticity``); default, the shipped training requests', built on first use."""
        self.detector = detector
        self.target_precision = (detector.target_precision if target_precision is None
                                 else target_precision)
        self._memory = None if memory is None else _own(memory)
        self._steps: npt.NDArray[np.float64] | None = None

    def prepare(self) -> TrainingMemory:
        """The memory, per-column steps and the rehearsal's network margins; the first call
        builds the shipped memory (about a second), so a worker calls it before feedback
        comes."""
        if self._memory is None:
            self._memory = _own(shipped_memory())
        if self._steps is None:
            self._steps = feature_steps(self._memory.frequency, self.detector.config)
        if self._memory.rehearsal is not None:  # the network's part of it, once
            self.detector.rehearsal_head_margins(self._memory.rehearsal)
        return self._memory

    def apply(self, items: Sequence[FeedbackItem]) -> FeedbackUpdate:
        """One feedback batch: examples, model update, threshold re-tune.

        ``seconds`` is the wall time of the whole batch (features included). Each
        distinct request is featurised once, however many verdicts it carries.
        """
        started = time.perf_counter()
        examples = examples_from_feedback(items)
        if not examples:
            return FeedbackUpdate(len(items), 0, 0.0, 0.0, dict(self.detector.thresholds))
        unique = {id(e.request): e.request for e in examples}
        position = {key: i for i, key in enumerate(unique)}
        where = [position[id(e.request)] for e in examples]
        features = self.detector.features(list(unique.values()))
        before = self.detector.confidences_of(features)
        rows = features.requests
        column = {name: j for j, name in enumerate(PATTERN_NAMES)}
        evidence: dict[str, list[Evidence]] = {}
        for i, e in zip(where, examples, strict=True):
            evidence.setdefault(e.pattern, []).append(
                Evidence(float(before[i, column[e.pattern]]), e.positive, e.weight))
        memory = self.prepare()
        update_started = time.perf_counter()
        self.detector.learn(examples, rows[where], self._steps, memory.rehearsal)
        thresholds = self.detector.tune_from_evidence(evidence, self.target_precision,
                                                      only_raise=True)
        done = time.perf_counter()
        return FeedbackUpdate(len(items), len(examples), done - started, done - update_started,
                              thresholds)


def _own(memory: TrainingMemory) -> TrainingMemory:
    """``memory`` with its rehearsal's targets this learner's own (the rows are shared)."""
    if memory.rehearsal is None:
        return memory
    return TrainingMemory(memory.frequency, dataclasses.replace(memory.rehearsal, targets={}))


def simulate_feedback(detector: PatternDetector, rows: Sequence[LabeledRequest],
                      source: FeedbackSource = FeedbackSource.USER) -> list[FeedbackItem]:
    """The feedback a reviewer would give on ``detector``'s predictions for ``rows``:
    ``correct`` for each true positive, ``incorrect`` for each false positive and
    ``adjusted`` (actual = the missed pattern) for each miss."""
    conf = detector.confidences([r.request for r in rows])
    detections = detector.detect_many([r.request for r in rows])
    items: list[FeedbackItem] = []
    for row, found, scores in zip(rows, detections, conf, strict=True):
        rid = row.request.request_id
        detected = {d.name: d.confidence for d in found}
        for name, confidence in sorted(detected.items()):
            kind = (PatternFeedbackType.CORRECT if name in row.expected
                    else PatternFeedbackType.INCORRECT)
            items.append((PatternFeedback(request_id=rid, pattern_name=name,
                                          detected_confidence=confidence, feedback_type=kind,
                                          source=source), row.request))
        for name in sorted(row.expected - detected.keys()):
            confidence = float(scores[PATTERN_NAMES.index(name)])
            items.append((PatternFeedback(request_id=rid, pattern_name=name,
                                          detected_confidence=confidence,
                                          feedback_type=PatternFeedbackType.ADJUSTED,
                                          actual_pattern=name, source=source), row.request))
    return items
