"""Online learning: feedback batches update the model at once; full retrains catch up.

Why replay: feedback is a biased sample. Users mostly report what *failed*, and
one combination reported again and again would, under plain ``partial_fit``,
drag down the intercept and every mixin in it until unrelated sets look broken.
Each update therefore mixes the new events with a random sample of outcomes
already known (``replay``, default 200) so that only the features that tell the
new evidence apart from the old one move. An update costs a few milliseconds.

A full retrain (``retrain``) rebuilds the model from the base outcomes (real
probes) plus every feedback event, measures it on combinations held out of
that fit, and refits on everything. It is pure and slow (seconds): callers run
it in an executor, on a ``snapshot``, and ``install`` the result, which replays
the events that arrived while it ran, so nothing learned in between is lost.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from onexgen.learning.mixins.data import Outcome, split_by_combination
from onexgen.learning.mixins.evaluate import evaluate
from onexgen.learning.mixins.model import CompatibilityModel

DEFAULT_REPLAY = 200
DEFAULT_MEMORY = 50_000
DEFAULT_RETRAIN_AFTER = 500


@dataclass(frozen=True, slots=True)
class UpdateStats:
    events: int
    replayed: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a background retrain trains on, and where the event log stood."""

    base: tuple[Outcome, ...]
    feedback: tuple[Outcome, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Retrained:
    model: CompatibilityModel
    metrics: dict[str, object]
    position: int
    seconds: float


class OnlineLearner:
    """Holds the current model, the known outcomes and the feedback seen since the last fit."""

    def __init__(self, model: CompatibilityModel, *, base: Sequence[Outcome] = (),
                 replay: int = DEFAULT_REPLAY, memory: int = DEFAULT_MEMORY,
                 retrain_after: int = DEFAULT_RETRAIN_AFTER, seed: int = 0) -> None:
        self.model = model
        self.base: tuple[Outcome, ...] = tuple(base)
        self.feedback: deque[Outcome] = deque(maxlen=memory)
        self.replay = replay
        self.retrain_after = retrain_after
        self.since_fit = 0
        self.total = 0
        """Feedback events ever applied; positions in this count mark snapshots."""
        self._rng = random.Random(seed)

    @property
    def needs_retrain(self) -> bool:
        return self.since_fit >= self.retrain_after

    def apply(self, outcomes: Sequence[Outcome]) -> UpdateStats:
        """``partial_fit`` on the batch plus a replay sample of known outcomes; remember it."""
        stats = self._update(outcomes)
        self.feedback.extend(outcomes)
        self.since_fit += len(outcomes)
        self.total += len(outcomes)
        return stats

    def _update(self, outcomes: Sequence[Outcome]) -> UpdateStats:
        started = time.perf_counter()
        if not outcomes:
            return UpdateStats(0, 0, 0.0)
        known = len(self.base) + len(self.feedback)
        take = min(self.replay, known)
        sample = [self._known(i) for i in self._rng.sample(range(known), take)] if take else []
        self.model.partial_fit([*outcomes, *sample])
        return UpdateStats(len(outcomes), len(sample), time.perf_counter() - started)

    def _known(self, index: int) -> Outcome:
        return self.base[index] if index < len(self.base) else \
            self.feedback[index - len(self.base)]

    def snapshot(self) -> Snapshot:
        return Snapshot(self.base, tuple(self.feedback), self.total)

    def install(self, result: Retrained) -> UpdateStats:
        """Adopt a retrained model, then re-apply the feedback that arrived during the retrain."""
        missed = min(self.total - result.position, len(self.feedback))
        later = list(self.feedback)[-missed:] if missed > 0 else []
        self.model = result.model
        self.since_fit = len(later)
        return self._update(later)


def retrain(snapshot: Snapshot, template: CompatibilityModel, *,
            test_fraction: float = 0.2, seed: int = 0) -> Retrained:
    """Held-out figures from a fit without 20% of the combinations, then a fit on all.

    Pure (no I/O, no shared state): run it in an executor, never on the event loop.
    """
    started = time.perf_counter()
    data = [*snapshot.base, *snapshot.feedback]
    train, test = split_by_combination(data, test_fraction, seed=seed)
    held = CompatibilityModel(template.config).fit(train)
    figures = evaluate(held, test).to_dict() if test else {}
    final = CompatibilityModel(template.config).fit(data)
    metrics: dict[str, object] = {
        "held_out": figures, "train_outcomes": len(train), "test_outcomes": len(test),
        "base_outcomes": len(snapshot.base), "feedback_outcomes": len(snapshot.feedback),
    }
    return Retrained(final, metrics, snapshot.position, time.perf_counter() - started)
