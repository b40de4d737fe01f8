"""Measuring a detector on labeled requests, and the before/after-feedback experiment.

The experiment is the evidence that the loop helps: measure on the test split,
replay feedback derived only from the train split, measure the test split again.
Two settings are measured, never touching test for anything but measuring:

* ``full``: the shipped detector (trained on all of train) gets feedback on its
  own train-set predictions, as the issue asks. It has seen those requests, so
  the feedback mostly confirms it; expect a small change.
* ``seeded``: a detector trained on a fixed half of train gets feedback on the
  other half, requests it has not seen, as in production where feedback comes
  on new requests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.detector import DEFAULT_TARGET_PRECISION, PatternDetector
from onexgen.learning.patterns.feedback import FeedbackLearner, FeedbackUpdate, simulate_feedback
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import copy_of
from onexgen.learning.patterns.training import train_detector
from onexgen.learning.scoring import ScoreReport, score

FEEDBACK_BATCH = 50
SEED_SPLIT = 20240508


def evaluate(detector: PatternDetector, rows: Sequence[LabeledRequest]) -> ScoreReport:
    found = detector.detect_many([r.request for r in rows])
    return score([(r.expected, {d.name for d in f}) for r, f in zip(rows, found, strict=True)],
                 PATTERN_NAMES)


@dataclass(frozen=True, slots=True)
class FeedbackExperiment:
    setting: str
    before: ScoreReport
    after: ScoreReport
    events: int
    updates: list[FeedbackUpdate]


def replay(detector: PatternDetector, rows: Sequence[LabeledRequest],
           target_precision: float = DEFAULT_TARGET_PRECISION,
           batch: int = FEEDBACK_BATCH) -> tuple[int, list[FeedbackUpdate]]:
    """Feedback on ``detector``'s predictions for ``rows``, applied in batches (in place)."""
    items = simulate_feedback(detector, rows)
    learner = FeedbackLearner(detector, target_precision)
    updates = [learner.apply(items[i:i + batch]) for i in range(0, len(items), batch)]
    return len(items), updates


def feedback_experiment(train: Sequence[LabeledRequest], test: Sequence[LabeledRequest],
                        setting: str = "full",
                        target_precision: float = DEFAULT_TARGET_PRECISION,
                        base: PatternDetector | None = None) -> FeedbackExperiment:
    """Test figures before and after replaying train-derived feedback (see module doc)."""
    if setting == "full":
        detector = copy_of(base) if base else train_detector(
            train, target_precision=target_precision)
        feedback_rows: Sequence[LabeledRequest] = train
    elif setting == "seeded":
        order = list(range(len(train)))
        random.Random(SEED_SPLIT).shuffle(order)
        half = len(order) // 2
        detector = train_detector([train[i] for i in order[:half]],
                                  target_precision=target_precision)
        feedback_rows = [train[i] for i in order[half:]]
    else:
        raise ValueError(f"unknown setting {setting!r}; use 'full' or 'seeded'")
    before = evaluate(detector, test)
    events, updates = replay(detector, feedback_rows, target_precision)
    return FeedbackExperiment(setting, before, evaluate(detector, test), events, updates)
