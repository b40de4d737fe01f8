"""Live quality figures from feedback, for the alert rules and the dashboard.

``pattern_precision`` and ``false_positive_rate`` come from pattern feedback:
a ``correct`` verdict is a true positive, ``incorrect`` a false positive,
``partial`` a true positive (the pattern is there, the detail was off), and
``adjusted`` a false positive for the detected pattern plus a false negative for
the actual one (or only a false negative when the actual pattern is the one
named: "this was missed"). Feedback does not list true negatives; for each
request that received feedback, the library's other patterns that nobody
flagged are counted as correctly absent. ``mixin_accuracy`` compares the
model's verdict, made before it learns from the event, with the real outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onexgen.learning.patterns.library import PATTERNS
from onexgen.models.wire import PatternFeedback, PatternFeedbackType


@dataclass(frozen=True, slots=True)
class PatternTally:
    tp: int
    fp: int
    fn: int
    tn: int


def tally_pattern_feedback(events: Sequence[PatternFeedback]) -> PatternTally:
    tp = fp = fn = 0
    flagged: dict[str, set[str]] = {}
    for e in events:
        named = flagged.setdefault(e.request_id, set())
        named.add(e.pattern_name)
        if e.feedback_type in (PatternFeedbackType.CORRECT, PatternFeedbackType.PARTIAL):
            tp += 1
        elif e.feedback_type is PatternFeedbackType.INCORRECT:
            fp += 1
        elif e.actual_pattern is None or e.actual_pattern == e.pattern_name:
            fn += 1  # adjusted without another name: the named pattern was missed
        else:
            fp += 1
            fn += 1
            named.add(e.actual_pattern)
    tn = sum(max(0, len(PATTERNS) - len(named)) for named in flagged.values())
    return PatternTally(tp, fp, fn, tn)


def mixin_verdicts_correct(predicted_scores: Sequence[float], outcomes: Sequence[bool],
                           threshold: float) -> int:
    """How many of the model's verdicts (score >= threshold means "works") were right."""
    return sum(1 for s, ok in zip(predicted_scores, outcomes, strict=True)
               if (s >= threshold) == ok)
