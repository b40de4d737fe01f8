"""Per-feature feedback steps: a feature the training requests use often barely moves.

Why: a user's correction is a whole request, and a plain gradient step raises
every feature in it by the same amount: the words of the new phrasing
("tranche") but also "the", "to", "every" and the character grams of common
words, which every request has. Fifty corrections of one phrasing raised
batch_processing on ordinary validation requests by 0.12 on average and cost
3.5 points of validation precision (BENCHMARKS.md, "Feedback that does not cost
precision elsewhere"). Training has already settled those common features'
weights on thousands of requests; feedback should change what training never
saw.

So each column's step is ``novel_step / (1 + frequency_damping * df)``, ``df``
the fraction of training requests in which the column is non-zero (its document
frequency): like AdaGrad's per-feature rates with the training corpus's
occurrences already accumulated. A column no training request has (the new
phrasing's words) gets the full step, one in a third of the requests about a
hundredth of it. Measured against replaying the same corrections with one step
for every column, and against rehearsal on a sample of the training requests:
BENCHMARKS.md.

``df`` comes from the training requests shipped in the wheel (rebuilt per
process, about a second, once): it describes the requests' language, not one
model's weights, so any stored model (old rows included) and a rules-only
detector use it unchanged, and the stored format does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from onexgen.learning.patterns.dataset import CORPUS_TRAIN_PATH, TRAIN_PATH, load_labeled
from onexgen.learning.patterns.detector import DetectorConfig, PatternDetector
from onexgen.learning.patterns.features import feature_width
from onexgen.models.wire import GenerationRequest

_CHUNK = 500
"""Requests featurised at a time: bounds the memory of the rows (never all kept)."""


def document_frequency(requests: Sequence[GenerationRequest]) -> npt.NDArray[np.float64]:
    """Per feature column, the fraction of ``requests`` whose row has it non-zero."""
    counts = np.zeros(feature_width())
    featurise = PatternDetector().featurise  # rows do not depend on a model's weights
    for start in range(0, len(requests), _CHUNK):
        rows = featurise(requests[start:start + _CHUNK])[1]
        if rows is not None:
            counts += np.bincount(rows.indices, minlength=counts.size)
    return counts / max(len(requests), 1)


@lru_cache(maxsize=1)
def shipped_document_frequency() -> npt.NDArray[np.float64]:
    """``document_frequency`` of the training requests shipped in the wheel (cached)."""
    rows = load_labeled(CORPUS_TRAIN_PATH) + load_labeled(TRAIN_PATH)
    frequency = document_frequency([r.request for r in rows])
    frequency.setflags(write=False)
    return frequency


def feature_steps(frequency: npt.NDArray[np.float64],
                  config: DetectorConfig) -> npt.NDArray[np.float64]:
    """Each column's feedback step (module docstring), for ``PatternDetector.learn``."""
    steps = config.novel_step / (1.0 + config.frequency_damping * frequency)
    return np.asarray(steps, dtype=np.float64)
