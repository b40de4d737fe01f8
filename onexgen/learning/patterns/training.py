"""Training a detector from labeled requests, and the default detector of the CLI.

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

from onexgen.learning.patterns.dataset import TRAIN_PATH, LabeledRequest, load_labeled
from onexgen.learning.patterns.detector import (
    DEFAULT_TARGET_PRECISION,
    DetectorConfig,
    PatternDetector,
)
from onexgen.learning.patterns.errors import PatternError
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.thresholds import Evidence

FOLDS = 5
FOLD_SEED = 0


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
    detector = PatternDetector(config)
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


@lru_cache(maxsize=1)
def default_detector() -> PatternDetector:
    """The detector trained from the committed train split, built once per process.

    Callers must not mutate it; ``learn`` on a copy (``from_bytes(to_bytes(d))``).
    """
    return train_from_file()
