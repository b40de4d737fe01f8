"""What every feedback step also holds: the rehearsed training requests' confidences.

``Rehearsal`` is the training requests a feedback step must not move (``plasticity``
builds it from the shipped training files), ``Anchor`` its loss on the columns one update
touches (``PatternDetector.learn``): without it a long stream of feedback, which never
reports true negatives, pushes every pattern up (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """Training requests whose confidences every feedback step also holds (``plasticity``)."""

    rows: sp.csc_matrix
    """Their feature rows, CSC: each update slices the columns it touches."""
    by_row: sp.csr_matrix
    """The same rows, CSR: margins (a CSR product is ~8x faster than a CSC one here)."""
    labels: dict[str, npt.NDArray[np.float64]]
    """Per pattern, 1.0 where the request has it: weights each class like ``fit``."""
    targets: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per pattern, its confidences on ``rows`` when this rehearsal first met the pattern:
    what the updates keep. One learner's own (``FeedbackLearner`` copies the shipped one)."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """The rehearsal's loss on one update's columns: margins before it, and the slices."""

    rows: sp.csr_matrix  # rehearsed requests x the update's columns
    rows_t: sp.csr_matrix  # its transpose
    margin: npt.NDArray[np.float64]  # each rehearsed request's margin before the update
    target: npt.NDArray[np.float64]  # the confidences to keep (Rehearsal.targets)
    weights: npt.NDArray[np.float64]

    def gradient(self, moved: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The gradient of the log loss against ``target`` after the columns moved by
        ``moved``: zero until an update moves a rehearsed request's confidence."""
        p = sigmoid(self.margin + self.rows @ moved)
        return np.asarray(self.rows_t @ (self.weights * (p - self.target)), dtype=np.float64)


def sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)
