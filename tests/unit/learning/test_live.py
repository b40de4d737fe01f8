"""Live feedback figures: the counting rules of learning.live."""

from __future__ import annotations

from onexgen.learning.live import mixin_verdicts_correct, tally_pattern_feedback
from onexgen.learning.patterns.library import PATTERNS
from onexgen.models.wire import PatternFeedback


def fb(rid: str, pattern: str, kind: str, actual: str | None = None) -> PatternFeedback:
    return PatternFeedback(request_id=rid, pattern_name=pattern, detected_confidence=0.9,
                           feedback_type=kind, actual_pattern=actual)


def test_tally_mixed_verdicts_counts_each_kind_as_documented() -> None:
    t = tally_pattern_feedback([
        fb("r1", "crud", "correct"),
        fb("r1", "caching", "incorrect"),
        fb("r2", "query", "adjusted", "aggregation"),
        fb("r2", "scheduling", "adjusted"),
        fb("r3", "validation", "partial"),
    ])
    assert (t.tp, t.fp, t.fn) == (2, 2, 2)
    # r1 flagged 2 patterns, r2 flagged 3 (query, aggregation, scheduling), r3 flagged 1
    assert t.tn == (len(PATTERNS) - 2) + (len(PATTERNS) - 3) + (len(PATTERNS) - 1)


def test_tally_no_feedback_gives_zero_counts() -> None:
    t = tally_pattern_feedback([])
    assert (t.tp, t.fp, t.fn, t.tn) == (0, 0, 0, 0)


def test_mixin_verdicts_correct_uses_threshold_as_works_boundary() -> None:
    assert mixin_verdicts_correct([0.9, 0.2, 0.5, 0.49], [True, False, False, False], 0.5) == 3
