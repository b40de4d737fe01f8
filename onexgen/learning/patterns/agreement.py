"""Agreement figures for ``onexgen patterns eval``: exact-set rate and Cohen's kappa.

Why kappa: precision and recall compare the detector with the adjudicated labels
only; kappa puts the detector on the same scale as the people (or models) who
labelled the corpus. For each pattern, kappa between two raters is
``(p_o - p_e) / (1 - p_e)``: observed agreement on "has the pattern" over all
requests, corrected for the agreement their base rates give by chance. The goal
is the detector's kappa with the adjudicated labels at least as high as the
annotators' kappa with each other. ``None`` when undefined (both raters constant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.scoring import ScoreReport

ADJUDICATED = "adjudicated"
DETECTOR = "detector"


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary raters over the same items."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError("kappa needs two equally long, non-empty label lists")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1.0:
        return None
    return (observed - expected) / (1 - expected)


def exact_set_rate(expected: Sequence[frozenset[str]], predicted: Sequence[set[str]]) -> float:
    """The share of requests whose predicted pattern set equals the expected one exactly."""
    if not expected:
        return 0.0
    return sum(e == p for e, p in zip(expected, predicted, strict=True)) / len(expected)


@dataclass(frozen=True, slots=True)
class AgreementReport:
    exact_set: float
    kappa: dict[tuple[str, str], dict[str, float | None]]
    """(rater, rater) -> pattern -> kappa; raters: detector, adjudicated, each annotator."""

    def to_dict(self) -> dict[str, Any]:
        return {"exact_set": self.exact_set,
                "kappa": {f"{a} vs {b}": per for (a, b), per in self.kappa.items()}}

    def render(self) -> str:
        pairs = list(self.kappa)
        width = max([18, *(len(f"{a}~{b}") for a, b in pairs)])
        head = f"{'kappa':<18}" + "".join(f" {f'{a}~{b}':>{width}}" for a, b in pairs)
        rows = [f"exact set: {100 * self.exact_set:.1f}% of requests", head, "-" * len(head)]
        for name in (*PATTERN_NAMES, "mean"):
            rows.append(f"{name:<18}" + "".join(
                f" {_fmt(self.kappa[p].get(name)):>{width}}" for p in pairs))
        return "\n".join(rows)


def agreement(rows: Sequence[LabeledRequest],
              predicted: Sequence[set[str]]) -> AgreementReport:
    """Exact-set rate and per-pattern kappa of detector, adjudicated labels and annotators.

    Annotators are compared on the requests whose lines carry their labels (every
    line of the corpus carries both annotators' labels, A = writer, B = blind labeller).
    """
    raters: dict[str, list[frozenset[str] | set[str]]] = {
        DETECTOR: list(predicted), ADJUDICATED: [r.expected for r in rows]}
    names = sorted({who for r in rows for who, _ in r.annotations})
    annotated = [dict(r.annotations) for r in rows]
    complete = all(set(a) == set(names) for a in annotated)
    if names and complete:
        for who in names:
            raters[who] = [a[who] for a in annotated]
    pairs = [(DETECTOR, ADJUDICATED), *((DETECTOR, w) for w in names if w in raters),
             *((a, b) for i, a in enumerate(names) for b in names[i + 1:] if a in raters)]
    kappa: dict[tuple[str, str], dict[str, float | None]] = {}
    for a, b in pairs:
        per: dict[str, float | None] = {
            name: cohen_kappa([name in s for s in raters[a]], [name in s for s in raters[b]])
            for name in PATTERN_NAMES}
        defined = [v for v in per.values() if v is not None]
        per["mean"] = sum(defined) / len(defined) if defined else None
        kappa[(a, b)] = per
    return AgreementReport(exact_set_rate([r.expected for r in rows], predicted), kappa)


def render_eval(report: ScoreReport, agree: AgreementReport) -> str:
    return f"{report.render()}\n\n{agree.render()}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
