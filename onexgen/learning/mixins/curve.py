"""How much feedback the compatibility model needs to become useful.

``learning_curve`` replays training outcomes as a stream of feedback events
(every third from a user, weight 1.0; the rest automated, 0.5) into a fresh
``OnlineLearner`` and scores it on the held-out set after chosen numbers of
events. Kept apart from ``evaluate`` because it drives the online learner,
which itself uses ``evaluate`` when it retrains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.evaluate import evaluate
from onexgen.learning.mixins.model import CompatibilityModel, ModelConfig
from onexgen.learning.mixins.online import OnlineLearner
from onexgen.learning.patterns.weights import AUTOMATED_WEIGHT, USER_WEIGHT


@dataclass(frozen=True, slots=True)
class CurvePoint:
    events: int
    accuracy: float
    brier: float
    update_ms_median: float


def as_feedback_stream(outcomes: Sequence[Outcome], *, seed: int = 0) -> list[Outcome]:
    """``outcomes`` shuffled and re-weighted as feedback: every third one from a user."""
    order = np.random.RandomState(seed).permutation(len(outcomes))
    return [Outcome(o.node_type, o.mixins, o.works,
                    USER_WEIGHT if i % 3 == 0 else AUTOMATED_WEIGHT, o.detail)
            for i, o in enumerate(outcomes[j] for j in order)]


def learning_curve(train: Sequence[Outcome], test: Sequence[Outcome],
                   checkpoints: Sequence[int], *, batch: int = 50,
                   config: ModelConfig | None = None, seed: int = 0) -> list[CurvePoint]:
    """Held-out accuracy of a model that has learned from only the first N feedback events."""
    stream = as_feedback_stream(train, seed=seed)
    learner = OnlineLearner(CompatibilityModel(config or ModelConfig()), seed=seed)
    points: list[CurvePoint] = []
    seen, times = 0, []
    for target in sorted(set(checkpoints)):
        while seen < min(target, len(stream)):
            chunk = stream[seen:min(seen + batch, target)]
            times.append(learner.apply(chunk).seconds * 1e3)
            seen += len(chunk)
        result = evaluate(learner.model, test)
        points.append(CurvePoint(seen, result.accuracy, result.brier,
                                 float(np.median(times)) if times else 0.0))
        if seen >= len(stream):
            break
    return points
