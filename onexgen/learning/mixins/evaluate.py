"""How good the compatibility model is, on combinations it never trained on.

``evaluate`` scores a model on held-out outcomes: accuracy, precision and
recall for the class that matters ("incompatible": a composition that fails),
and two calibration figures, because the score is used as a probability (a
threshold and a user-facing number):

    Brier score  mean (p - y)^2 over outcomes; 0 is perfect, 0.25 is a coin flip
    ECE          expected calibration error: outcomes binned by predicted
                 probability (10 bins); the weighted mean |mean p - success rate|

``static_accuracy`` is the runtime's own declared catalogue (``check_composition``)
judged against the same real outcomes: the baseline the model must not fall below.

(How much feedback the model needs is ``learning.mixins.curve``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from onex_runtime import check_composition

from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.model import CompatibilityModel
from onexgen.learning.scoring import Counts

ECE_BINS = 10


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Held-out figures; ratios are ``None`` when their denominator is zero."""

    outcomes: int
    failure_rate: float
    accuracy: float
    precision_incompatible: float | None
    recall_incompatible: float | None
    brier: float
    ece: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_calibration_error(p: npt.NDArray[np.float64], y: npt.NDArray[np.float64],
                               bins: int = ECE_BINS) -> float:
    """Weighted mean gap between predicted probability and observed rate, per bin."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap = abs(float(p[mask].mean()) - float(y[mask].mean()))
            total += float(mask.sum()) / len(p) * gap
    return total


def evaluate(model: CompatibilityModel, test: Sequence[Outcome],
             threshold: float = 0.5) -> Evaluation:
    """Score ``model`` on ``test`` (which it must not have trained on)."""
    if not test:
        raise ValueError("no test outcomes to evaluate on; sample more combinations")
    p = model.predict_keys([o.key for o in test])
    y = np.array([o.works for o in test], dtype=np.float64)
    return _figures(p >= threshold, y, p)


def static_accuracy(test: Sequence[Outcome]) -> Evaluation:
    """The declared catalogue as a predictor: works iff ``check_composition`` finds nothing."""
    works = np.array([not check_composition(o.node_type, o.mixins) for o in test])
    y = np.array([o.works for o in test], dtype=np.float64)
    return _figures(works, y, works.astype(np.float64))


def _figures(predicted_ok: npt.NDArray[np.bool_], y: npt.NDArray[np.float64],
             p: npt.NDArray[np.float64]) -> Evaluation:
    actual_fail, predicted_fail = y < 0.5, ~predicted_ok
    counts = Counts(tp=int((predicted_fail & actual_fail).sum()),
                    fp=int((predicted_fail & ~actual_fail).sum()),
                    fn=int((~predicted_fail & actual_fail).sum()),
                    tn=int((~predicted_fail & ~actual_fail).sum()))
    return Evaluation(outcomes=len(y), failure_rate=float(actual_fail.mean()),
                      accuracy=float((predicted_fail == actual_fail).mean()),
                      precision_incompatible=counts.precision,
                      recall_incompatible=counts.recall,
                      brier=float(np.mean((p - y) ** 2)),
                      ece=expected_calibration_error(p, y))
