"""What feedback may change: per-feature steps and a rehearsal of the training requests.

Why: a user's correction is a whole request, and a plain gradient step raises
every feature in it by the same amount: the words of the new phrasing
("tranche") but also "the", "to", "every" and the character grams of common
words, which every request has. Fifty corrections of one phrasing raised
batch_processing on ordinary validation requests by 0.12 on average and cost
3.5 points of validation precision (BENCHMARKS.md, "Feedback that does not cost
precision elsewhere"). Two remedies, both measured there:

* per-feature steps: each column's step is ``novel_step / (1 + frequency_damping
  * df)``, ``df`` the fraction of training requests in which the column is non-zero
  (its document frequency), like AdaGrad's per-feature rates with the training
  corpus's occurrences already accumulated. A column no training request has
  gets the full step, one in a third of the requests about 1/667 of it.
* rehearsal: feedback is a biased sample (people report detections and misses,
  never the true negatives), so a long stream of it pushes every pattern up
  (2,300 verdicts on four unseen writers' requests took validation precision from
  90.6 % to 67 % with the steps alone). Each update step also descends the log
  loss of a fixed sample of training requests (``REHEARSAL_SIZE``) against their
  confidences when the learner first updated that pattern, on the columns the
  feedback touches, weighted ``DetectorConfig.rehearsal_weight``: ordinary
  requests keep their scores unless the feedback is worth moving them. Against
  the requests' labels instead, a model not trained on them (rules only) was
  pulled toward them on every update, and the stream held precision less well
  (89.4 % against 90.1 %).

Both come from the training requests shipped in the wheel (``shipped_memory``:
built once per process, about a second, in ``PatternUpdater.open``): they describe
requests, not one model's weights, so any stored model (old rows included) and a
rules-only detector use them unchanged, and the stored format does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import (
    CORPUS_TRAIN_PATH,
    TRAIN_PATH,
    LabeledRequest,
    load_labeled,
)
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.features import feature_width
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.rehearsal import Rehearsal

REHEARSAL_SIZE = 500
"""Training requests rehearsed (fixed sample, seed ``REHEARSAL_SEED``): 250 held validation
precision less well under a long feedback stream, 500 costs ~6 ms per batch of 50."""
REHEARSAL_SEED = 0
_CHUNK = 500
"""Requests featurised at a time: bounds the memory of the rows (never all kept)."""


@dataclass(frozen=True, slots=True)
class TrainingMemory:
    """What feedback updates keep from the training requests (module docstring)."""

    frequency: npt.NDArray[np.float64]
    """Per feature column, the fraction of training requests having it non-zero."""
    rehearsal: Rehearsal | None


def training_memory(rows: Sequence[LabeledRequest], rehearsal_size: int = REHEARSAL_SIZE,
                    seed: int = REHEARSAL_SEED) -> TrainingMemory:
    """Document frequencies of ``rows`` and a rehearsal sample of them, in one pass."""
    counts = np.zeros(feature_width())
    chosen = set(np.random.RandomState(seed).permutation(len(rows))[:rehearsal_size].tolist())
    kept: list[sp.csr_matrix] = []
    picked: list[LabeledRequest] = []
    featurise = PatternDetector().featurise  # rows do not depend on a model's weights
    for start in range(0, len(rows), _CHUNK):
        part = rows[start:start + _CHUNK]
        matrix = featurise([r.request for r in part])[1]
        if matrix is None:
            continue
        counts += np.bincount(matrix.indices, minlength=counts.size)
        local = [i for i in range(len(part)) if start + i in chosen]
        kept.append(matrix[local])
        picked += [part[i] for i in local]
    frequency = counts / max(len(rows), 1)
    frequency.setflags(write=False)
    if not picked:
        return TrainingMemory(frequency, None)
    labels = {name: np.array([name in r.expected for r in picked], dtype=np.float64)
              for name in PATTERN_NAMES}
    stacked = sp.vstack(kept, format="csr")
    return TrainingMemory(frequency, Rehearsal(stacked.tocsc(), stacked, labels))


def document_frequency(rows: Sequence[LabeledRequest]) -> npt.NDArray[np.float64]:
    """Per feature column, the fraction of ``rows`` whose feature row has it non-zero."""
    return training_memory(rows, rehearsal_size=0).frequency


@lru_cache(maxsize=1)
def shipped_memory() -> TrainingMemory:
    """``training_memory`` of the training requests shipped in the wheel (cached)."""
    return training_memory(load_labeled(CORPUS_TRAIN_PATH) + load_labeled(TRAIN_PATH))


def feature_steps(frequency: npt.NDArray[np.float64],
                  config: DetectorConfig) -> npt.NDArray[np.float64]:
    """Each column's feedback step (module docstring), for ``PatternDetector.learn``."""
    steps = config.novel_step / (1.0 + config.frequency_damping * frequency)
    return np.asarray(steps, dtype=np.float64)
