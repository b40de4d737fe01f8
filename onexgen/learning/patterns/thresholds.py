"""Choosing a per-pattern threshold that reaches a target precision.

Why per pattern: confidences are not equally calibrated across patterns (a
"caching" phrase is rarely ambiguous, "publish" often is), so one global
threshold trades precision on one pattern for recall on another. For each
pattern we pick the LOWEST threshold whose (weighted) precision on the evidence
reaches the target: the most recall the precision goal allows. Evidence is
(confidence, is-positive, weight) triples: out-of-fold predictions from training
and, later, feedback events weighted by their source (user 1.0, automated 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_THRESHOLD = 0.2
MAX_THRESHOLD = 0.95


@dataclass(frozen=True, slots=True)
class Evidence:
    confidence: float
    positive: bool
    weight: float = 1.0


def choose_threshold(evidence: Sequence[Evidence], target_precision: float,
                     min_positive_weight: float = 3.0) -> float | None:
    """The lowest cut reaching ``target_precision``, or ``None`` when evidence is too thin.

    Candidate cuts sit halfway between consecutive distinct confidences, so a
    new request scoring just below the last accepted positive is not let in by
    accident. When no cut reaches the target, the cut with the best F0.5 (which
    weighs precision twice as much as recall) is returned: the best compromise,
    rather than a cut so high it keeps a single request.
    """
    if sum(e.weight for e in evidence if e.positive) < min_positive_weight:
        return None
    conf = np.array([e.confidence for e in evidence], dtype=np.float64)
    pos = np.array([e.weight if e.positive else 0.0 for e in evidence])
    neg = np.array([0.0 if e.positive else e.weight for e in evidence])
    order = np.argsort(-conf, kind="stable")
    conf, tp, fp = conf[order], np.cumsum(pos[order]), np.cumsum(neg[order])
    last = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))  # end of each distinct value
    lower = np.append(conf[1:], max(conf[-1] - 0.1, 0.0))[last]
    cuts = (conf[last] + lower) / 2
    tp, fp = tp[last], fp[last]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    meets = np.flatnonzero((precision >= target_precision) & (tp > 0))
    if meets.size:
        final = float(cuts[meets[-1]])
    else:
        f_half = 1.25 * tp / (1.25 * tp + 0.25 * (tp[-1] - tp) + fp)
        final = float(cuts[int(np.argmax(f_half))])
    return float(min(max(final, MIN_THRESHOLD), MAX_THRESHOLD))
