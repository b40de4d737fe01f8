"""Training a detector from labeled requests, and the shipped default detector.

The default recipe (``train_default``): weights from the corpus's train split
(writers w1, w2, w4) plus the original author's set, per-pattern thresholds
from the corpus's validation split (writer w5, a writer the weights never saw)
at ``DEFAULT_TRAINING_PRECISION``. The result ships in the wheel as
``data/default_model.npz`` and ``default_detector`` loads it: nothing is trained
or downloaded at run time, unless the shipped file cannot be used (another
scikit-learn series), when it is retrained from the shipped files, same recipe.

For any other labelled file (``train_detector``):

Why out-of-fold thresholds: a model scores its own training requests too well,
so thresholds tuned on them come out too low and precision drops on new
requests. ``train_detector`` therefore scores every training request with a
model that did not see it (k folds, fixed seed), tunes the per-pattern
thresholds on those confidences, and only then fits the final model on all of
the data. The default detector is trained this way from ``data/patterns/
train.jsonl`` at first use (about a second; deterministic), never from test.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import (
    CORPUS_TRAIN_PATH,
    CORPUS_VALIDATION_PATH,
    DEFAULT_MODEL_PATH,
    TRAIN_PATH,
    LabeledRequest,
    load_labeled,
)
from onexgen.learning.patterns.detector import DEFAULT_TARGET_PRECISION, PatternDetector
from onexgen.learning.patterns.errors import ModelFormatError, PatternError
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import load
from onexgen.learning.patterns.thresholds import Evidence

FOLDS = 5
FOLD_SEED = 0
DEFAULT_TRAINING_PRECISION = 0.90
"""The per-pattern precision the shipped thresholds aim at on validation. Chosen on
validation halves: 0.95 cost ~8 points of recall for ~3 of precision; 0.85 and below let
the false-positive rate pass 2 %."""

log = structlog.get_logger("onexgen.learning.patterns")


def out_of_fold_confidences(rows: Sequence[LabeledRequest], config: DetectorConfig,
                            folds: int = FOLDS) -> npt.NDArray[np.float64]:
    """Each row's confidences from a model trained on the other folds."""
    order = np.random.RandomState(FOLD_SEED).permutation(len(rows))
    out = np.zeros((len(rows), len(PATTERN_NAMES)))
    for k in range(folds):
        held = order[k::folds]
        held_set = set(held.tolist())
        train = [rows[i] for i in range(len(rows)) if i not in held_set]
        model = PatternDetector(config).fit([r.request for r in train],
                                            [r.expected for r in train])
        out[held] = model.confidences([rows[i].request for i in held])
    return out


def train_detector(rows: Sequence[LabeledRequest], *,
                   target_precision: float = DEFAULT_TARGET_PRECISION,
                   config: DetectorConfig | None = None,
                   folds: int = FOLDS) -> PatternDetector:
    """Thresholds from out-of-fold confidences, then the final fit on every row."""
    config = config or DetectorConfig()
    if len(rows) < folds * 2:
        raise PatternError(f"{len(rows)} labeled requests are too few to train; "
                           f"give at least {folds * 2}")
    detector = PatternDetector(config, target_precision=target_precision)
    oof = out_of_fold_confidences(rows, config, folds)
    evidence = {name: [Evidence(float(oof[i, j]), name in rows[i].expected)
                       for i in range(len(rows))]
                for j, name in enumerate(PATTERN_NAMES)}
    detector.tune_from_evidence(evidence, target_precision, replace=True)
    return detector.fit([r.request for r in rows], [r.expected for r in rows])


def train_from_file(path: Path = TRAIN_PATH, *,
                    target_precision: float = DEFAULT_TARGET_PRECISION) -> PatternDetector:
    if not path.is_file():
        raise PatternError(f"training data {path} not found; pass --data FILE.jsonl "
                           "or --model PATH (a model saved by `onexgen patterns train`)")
    return train_detector(load_labeled(path), target_precision=target_precision)


def train_with_validation(train: Sequence[LabeledRequest],
                          validation: Sequence[LabeledRequest], *,
                          target_precision: float = DEFAULT_TRAINING_PRECISION,
                          config: DetectorConfig | None = None) -> PatternDetector:
    """Weights from ``train``; each pattern's threshold from ``validation`` alone."""
    if not train or not validation:
        raise PatternError("training needs labeled requests in both the train and the "
                           "validation file")
    detector = PatternDetector(config or DetectorConfig()).fit(
        [r.request for r in train], [r.expected for r in train])
    detector.tune_thresholds([r.request for r in validation], [r.expected for r in validation],
                             target_precision)
    return detector


def train_default() -> PatternDetector:
    """The shipped default detector's recipe (module docstring), from the shipped files."""
    train = load_labeled(CORPUS_TRAIN_PATH) + load_labeled(TRAIN_PATH)
    return train_with_validation(train, load_labeled(CORPUS_VALIDATION_PATH))


@lru_cache(maxsize=1)
def default_detector() -> PatternDetector:
    """The shipped default detector, loaded once per process.

    Callers must not mutate it; ``learn`` on a copy (``persist.copy_of``).
    """
    try:
        return load(DEFAULT_MODEL_PATH)
    except (OSError, ModelFormatError) as exc:
        log.warning("pattern_default_model_unusable", path=str(DEFAULT_MODEL_PATH),
                    error=str(exc), action="retraining from the shipped labelled files")
        return train_default()
