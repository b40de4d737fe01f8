"""Leave-one-writer-out cross-validation: how the detector does on a writer it never saw.

Why by writer: requests by one writer share vocabulary, domains and habits, so random
folds put a writer's near-twins on both sides and flatter the model. Holding out
each training writer in turn (the original author's set counts as one writer,
``AUTHOR``) is the question the detector faces in production, asked of the training
data alone; the validation split stays for the final choice and the thresholds, and
the corpus's test split is never read.

Figures per held-out writer and pooled: micro average precision (threshold-free)
and precision, recall, false-positive rate and exact-set rate at per-pattern
thresholds chosen on the pooled out-of-fold confidences (``thresholds``), the same
thresholds then applied to validation, when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.errors import PatternError
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.thresholds import Evidence, choose_threshold

AUTHOR = "author"
"""The group of labelled requests without a ``writer`` (the original author's set)."""


@dataclass(frozen=True, slots=True)
class Figures:
    requests: int
    average_precision: float
    precision: float
    recall: float
    false_positive_rate: float
    exact_set: float

    def row(self, label: str) -> str:
        return (f"{label:<22} {self.requests:>5} {100 * self.average_precision:>6.1f} "
                f"{100 * self.precision:>6.1f} {100 * self.recall:>6.1f} "
                f"{100 * self.false_positive_rate:>6.2f} {100 * self.exact_set:>6.1f}")


HEADER = f"{'held out':<22} {'n':>5} {'AP':>6} {'P':>6} {'R':>6} {'FPR':>6} {'exact':>6}"


@dataclass(frozen=True, slots=True)
class CrossValidation:
    per_writer: dict[str, Figures]
    pooled: Figures
    validation: Figures | None
    """Validation scored by the model fitted on every training writer, at the
    out-of-fold thresholds (not tuned on validation: an honest figure)."""
    thresholds: dict[str, float]

    def render(self) -> str:
        lines = [HEADER, "-" * len(HEADER)]
        lines += [f.row(w) for w, f in sorted(self.per_writer.items())]
        lines.append(self.pooled.row("pooled out-of-fold"))
        if self.validation is not None:
            lines.append(self.validation.row("validation"))
        return "\n".join(lines)


def labels_of(rows: Sequence[LabeledRequest]) -> npt.NDArray[np.bool_]:
    return np.array([[n in r.expected for n in PATTERN_NAMES] for r in rows], dtype=np.bool_)


def figures(conf: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_],
            cuts: npt.NDArray[np.float64]) -> Figures:
    pred = conf >= cuts
    tp, fp = int((pred & truth).sum()), int((pred & ~truth).sum())
    fn, tn = int((~pred & truth).sum()), int((~pred & ~truth).sum())
    ap = (float(average_precision_score(truth.ravel(), conf.ravel()))
          if truth.any() else 0.0)
    return Figures(len(conf), ap, tp / max(tp + fp, 1), tp / max(tp + fn, 1),
                   fp / max(fp + tn, 1), float(np.mean(np.all(pred == truth, axis=1))))


def pooled_thresholds(conf: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_],
                      target_precision: float) -> npt.NDArray[np.float64]:
    """Each pattern's lowest cut reaching the target on these confidences (0.5 if too few)."""
    cuts = []
    for j in range(len(PATTERN_NAMES)):
        cut = choose_threshold([Evidence(float(c), bool(t))
                                for c, t in zip(conf[:, j], truth[:, j], strict=True)],
                               target_precision)
        cuts.append(0.5 if cut is None else cut)
    return np.array(cuts)


def leave_one_writer_out(rows: Sequence[LabeledRequest],
                         validation: Sequence[LabeledRequest] = (), *,
                         config: DetectorConfig | None = None,
                         target_precision: float = 0.90) -> CrossValidation:
    """Out-of-fold confidences per held-out writer, then the figures (module docstring)."""
    config = config or DetectorConfig()
    groups = np.array([r.writer or AUTHOR for r in rows])
    writers = sorted(set(groups.tolist()))
    if len(writers) < 2:
        raise PatternError("leave-one-writer-out needs requests from at least two writers")
    truth, oof = labels_of(rows), np.zeros((len(rows), len(PATTERN_NAMES)))
    for writer in writers:
        held = np.flatnonzero(groups == writer)
        train = [r for r, g in zip(rows, groups, strict=True) if g != writer]
        model = PatternDetector(config).fit([r.request for r in train],
                                            [r.expected for r in train])
        oof[held] = model.confidences([rows[int(i)].request for i in held])
    cuts = pooled_thresholds(oof, truth, target_precision)
    per_writer = {w: figures(oof[groups == w], truth[groups == w], cuts) for w in writers}
    scored = None
    if validation:
        full = PatternDetector(config).fit([r.request for r in rows], [r.expected for r in rows])
        scored = figures(full.confidences([r.request for r in validation]),
                         labels_of(validation), cuts)
    return CrossValidation(per_writer, figures(oof, truth, cuts), scored,
                           {n: float(c) for n, c in zip(PATTERN_NAMES, cuts, strict=True)})
