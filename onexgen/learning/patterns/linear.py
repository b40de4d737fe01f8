"""The per-pattern linear models: built from plain arrays, from the rules, or to be fitted.

Its own module because loading a stored model (``persist``) builds them from arrays and
the detector builds them to fit or learn; both need the same ``SGDClassifier`` settings.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import SGDClassifier

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.features import RULE_SCALE
from onexgen.learning.patterns.library import PATTERN_NAMES


def new_model(config: DetectorConfig) -> SGDClassifier:
    """An unfitted model of ``config``'s recipe (log loss, fixed seed)."""
    return SGDClassifier(loss="log_loss", alpha=config.alpha, max_iter=config.epochs, tol=None,
                         random_state=config.seed, learning_rate="optimal")


def linear_model(config: DetectorConfig, coef: npt.NDArray[np.float64],
                 intercept: float) -> SGDClassifier:
    """A fitted-looking ``SGDClassifier`` holding these weights: all detection and ``learn``
    read (loading a saved model builds its models this way, from plain arrays)."""
    model = new_model(config)
    model.coef_ = np.asarray(coef, dtype=np.float64).reshape(1, -1)
    model.intercept_ = np.array([float(intercept)])
    model.classes_ = np.array([0, 1])
    return model


def model_from_rules(config: DetectorConfig, name: str, width: int) -> SGDClassifier:
    """A model equivalent to "confidence = the rule's verdict": weight on its rule column."""
    coef = np.zeros(width)
    coef[width - len(PATTERN_NAMES) + PATTERN_NAMES.index(name)] = 4.0 / RULE_SCALE
    return linear_model(config, coef, -2.8)


def balanced_weights(y: npt.NDArray[np.int64], boost: float) -> npt.NDArray[np.float64]:
    """Each example's weight: its class's (n / (2 * count)) ** boost (1.0: "balanced")."""
    n, pos = len(y), max(int(y.sum()), 1)
    neg = max(n - pos, 1)
    weights = np.where(y == 1, (n / (2 * pos)) ** boost, (n / (2 * neg)) ** boost)
    return np.asarray(weights, dtype=np.float64)
