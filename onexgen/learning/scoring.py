"""Classification metrics for multi-label detection, computed from outcomes, not assumed.

Why this module exists: the original system reported "92 % precision" from a
mocked table and never computed a false-positive rate. Here every figure comes
from (expected set, predicted set) pairs, one pair per request, against a fixed
list of labels, so true negatives are known and FPR is real:

    precision = TP / (TP + FP)      recall = TP / (TP + FN)
    FPR       = FP / (FP + TN)      F1     = 2 TP / (2 TP + FP + FN)

Zero denominators: a ratio whose denominator is zero is ``None`` ("undefined:
no cases"), never a silent 0 or 1: a pattern that was never predicted has no
precision, and an alert rule must treat that as "no data", not as a breach.
The micro average sums the counts over all labels before dividing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class Counts:
    """The confusion counts of one label (or of all labels, for the micro average)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                      self.tn + other.tn)

    @property
    def support(self) -> int:
        """How many expected positives there were."""
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def false_positive_rate(self) -> float | None:
        return ratio(self.fp, self.fp + self.tn)

    @property
    def f1(self) -> float | None:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def figures(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "support": self.support, "precision": self.precision, "recall": self.recall,
                "false_positive_rate": self.false_positive_rate, "f1": self.f1}


@dataclass(frozen=True, slots=True)
class ScoreReport:
    """Per-label counts and their micro average; ``overall`` is the micro average."""

    per_label: dict[str, Counts]
    requests: int

    @property
    def overall(self) -> Counts:
        return micro(self.per_label)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "overall": self.overall.figures(),
                "per_pattern": {k: v.figures() for k, v in self.per_label.items()}}

    def render(self) -> str:
        """A fixed-width table: one row per label, then the micro average."""
        head = f"{'pattern':<18} {'supp':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>5} " \
               f"{'precision':>9} {'recall':>7} {'fpr':>6} {'f1':>6}"
        rows = [head, "-" * len(head)]
        items = [*self.per_label.items(), ("micro-average", self.overall)]
        for name, c in items:
            rows.append(f"{name:<18} {c.support:>5} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.tn:>5} "
                        f"{_pct(c.precision):>9} {_pct(c.recall):>7} "
                        f"{_pct(c.false_positive_rate):>6} {_pct(c.f1):>6}")
        rows.append(f"({self.requests} requests; '-' = undefined, no cases)")
        return "\n".join(rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def confusion(pairs: Iterable[tuple[Collection[str], Collection[str]]],
              labels: Sequence[str]) -> dict[str, Counts]:
    """Per-label counts from ``(expected, predicted)`` pairs; labels outside ``labels`` are
    ignored (an unknown predicted label is a caller bug, reported by the caller)."""
    cells = {label: [0, 0, 0, 0] for label in labels}
    for expected, predicted in pairs:
        for label, cell in cells.items():
            want, got = label in expected, label in predicted
            cell[0 if want and got else 1 if got else 2 if want else 3] += 1
    return {label: Counts(*cell) for label, cell in cells.items()}


def score(pairs: Iterable[tuple[Collection[str], Collection[str]]],
          labels: Sequence[str]) -> ScoreReport:
    """Precision, recall, FPR and F1 per label and micro-averaged, from outcome pairs."""
    materialised = list(pairs)
    return ScoreReport(confusion(materialised, labels), len(materialised))


def micro(per_label: Mapping[str, Counts]) -> Counts:
    """Summed counts over labels (the micro average's basis)."""
    total = Counts()
    for counts in per_label.values():
        total = total + counts
    return total
