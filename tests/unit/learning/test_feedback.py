"""Feedback events -> weighted examples; replaying feedback improves a controlled case."""

from __future__ import annotations

import pytest

from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.evaluate import evaluate, replay
from onexgen.learning.patterns.feedback import FeedbackLearner, examples_from_feedback
from onexgen.learning.patterns.weights import AUTOMATED_WEIGHT, USER_WEIGHT, weight_for
from onexgen.models.wire import PatternFeedback
from tests.unit.learning.conftest import make_request

REQ = make_request("Lets editors publish and unpublish articles.")


def event(kind: str, pattern: str = "event_publishing", actual: str | None = None,
          source: str = "user") -> PatternFeedback:
    return PatternFeedback.model_validate({
        "request_id": "t-1", "pattern_name": pattern, "detected_confidence": 0.6,
        "feedback_type": kind, "actual_pattern": actual, "source": source})


def test_weight_for_sources_user_one_automated_half() -> None:
    assert weight_for("user") == USER_WEIGHT == 1.0
    assert weight_for("automated") == AUTOMATED_WEIGHT == 0.5


@pytest.mark.parametrize(("kind", "actual", "source", "expected"), [
    ("correct", None, "user", [("event_publishing", True, 1.0)]),
    ("incorrect", None, "automated", [("event_publishing", False, 0.5)]),
    ("partial", None, "user", [("event_publishing", True, 0.5)]),
    ("adjusted", "crud", "user", [("crud", True, 1.0), ("event_publishing", False, 1.0)]),
    ("adjusted", "event_publishing", "automated", [("event_publishing", True, 0.5)]),
])
def test_examples_from_feedback_each_type_maps_to_weighted_verdicts(
        kind: str, actual: str | None, source: str,
        expected: list[tuple[str, bool, float]]) -> None:
    examples = examples_from_feedback([(event(kind, actual=actual, source=source), REQ)])
    assert [(e.pattern, e.positive, e.weight) for e in examples] == expected


def test_feedback_incorrect_repeated_removes_false_positive() -> None:
    detector = PatternDetector()  # rules only: "publish" alone scores 0.5 = threshold
    assert "event_publishing" in {d.name for d in detector.detect(REQ)}
    learner = FeedbackLearner(detector)
    others = [make_request(f"Publishes the OrderPlaced event to the orders topic {i}.",
                           rid=f"o-{i}") for i in range(4)]
    batch = [(event("incorrect"), REQ)] * 3 + [(event("correct"), r) for r in others]
    learner.apply(batch)
    assert "event_publishing" not in {d.name for d in detector.detect(REQ)}
    assert all("event_publishing" in {d.name for d in detector.detect(r)} for r in others)


def test_replay_feedback_on_controlled_set_improves_f1() -> None:
    """A rules-only detector misses 'dispatches to the outbound mail relay' phrasing; after
    feedback on similar training requests it detects a held-out one."""
    def row(text: str, rid: str, labels: set[str]) -> LabeledRequest:
        return LabeledRequest(make_request(text, rid=rid), frozenset(labels))

    train = [row(f"Hands the {w} digest over to the outbound mail relay for recipients.",
                 f"tr-{i}", {"notification"})
             for i, w in enumerate(["weekly", "daily", "monthly", "yearly", "hourly", "new"])]
    train += [row(f"Hands the {w} archive over to the cold storage tier.", f"tn-{i}", set())
              for i, w in enumerate(["weekly", "daily", "monthly"])]
    test = [row("Hands the quarterly digest over to the outbound mail relay.", "te-1",
                {"notification"}),
            row("Hands the quarterly archive over to the cold storage tier.", "te-2", set())]
    detector = PatternDetector()
    before = evaluate(detector, test).per_label["notification"]
    replay(detector, train)
    after = evaluate(detector, test).per_label["notification"]
    assert before.tp == 0
    assert after.tp == 1 and after.fp == 0
