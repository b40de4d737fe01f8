"""Online learning with replay, background-retrain snapshots and their installation."""

from __future__ import annotations

from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.evaluate import evaluate
from onexgen.learning.mixins.model import CompatibilityModel
from onexgen.learning.mixins.online import OnlineLearner, retrain


def test_apply_repeated_failure_reports_keep_held_out_accuracy(
        model: CompatibilityModel, split: tuple[list[Outcome], list[Outcome]]) -> None:
    learner = OnlineLearner(model, base=split[0], seed=1)
    for _ in range(5):
        stats = learner.apply([Outcome("effect", ("Caching", "Timeout"), False, 1.0)] * 3)
        assert stats.events == 3 and stats.replayed == 200
    assert learner.model.predict("effect", ["Caching", "Timeout"]) < 0.5
    assert evaluate(learner.model, split[1]).accuracy >= 0.97


def test_needs_retrain_after_enough_events(model: CompatibilityModel) -> None:
    learner = OnlineLearner(model, retrain_after=4)
    learner.apply([Outcome("effect", ("Retry",), True)] * 3)
    assert not learner.needs_retrain
    learner.apply([Outcome("effect", ("Retry",), True)])
    assert learner.needs_retrain


def test_retrain_reports_held_out_figures_and_install_replays_later_events(
        split: tuple[list[Outcome], list[Outcome]]) -> None:
    learner = OnlineLearner(CompatibilityModel(), base=split[0], retrain_after=1)
    learner.apply([Outcome("effect", ("Caching", "Timeout"), False, 1.0)] * 2)
    snapshot = learner.snapshot()
    result = retrain(snapshot, learner.model)
    assert result.metrics["feedback_outcomes"] == 2
    held = result.metrics["held_out"]
    assert isinstance(held, dict) and held["accuracy"] >= 0.97
    learner.apply([Outcome("effect", ("Audit", "Timeout"), False, 1.0)])  # during the retrain
    stats = learner.install(result)
    assert learner.model is result.model and stats.events == 1 and learner.since_fit == 1
