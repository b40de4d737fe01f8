"""The compatibility model on real probe outcomes: accuracy, calibration, online updates."""

from __future__ import annotations

import numpy as np
import pytest

from onexgen.learning.mixins.curve import learning_curve
from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.errors import ModelFormatError, TrainingDataError
from onexgen.learning.mixins.evaluate import evaluate, expected_calibration_error
from onexgen.learning.mixins.model import CompatibilityModel, ModelConfig, from_bytes, to_bytes


def test_fit_held_out_combinations_accuracy_at_least_98_percent(
        trained: CompatibilityModel, split: tuple[list[Outcome], list[Outcome]]) -> None:
    result = evaluate(trained, split[1])
    assert result.accuracy >= 0.98
    assert result.recall_incompatible is not None and result.recall_incompatible >= 0.98
    assert result.brier < 0.02 and result.ece < 0.05


def test_fit_without_catalogue_features_still_learns_rules_from_data(
        split: tuple[list[Outcome], list[Outcome]]) -> None:
    model = CompatibilityModel(ModelConfig(catalogue_features=False)).fit(split[0])
    assert evaluate(model, split[1]).accuracy >= 0.95


def test_predict_unfitted_model_says_half() -> None:
    assert CompatibilityModel().predict("effect", ["Retry"]) == 0.5


def test_predict_known_conflicts_low_valid_sets_high(trained: CompatibilityModel) -> None:
    assert trained.predict("effect", ["Retry", "Synchronous"]) < 0.2
    assert trained.predict("compute", ["Caching"]) < 0.2
    assert trained.predict("effect", ["Retry", "Metrics", "HealthCheck"]) > 0.8


def test_fit_one_class_only_raises_naming_fix() -> None:
    with pytest.raises(TrainingDataError, match="probe more combinations"):
        CompatibilityModel().fit([Outcome("effect", ("Retry",), True)] * 3)


def test_partial_fit_user_failures_lower_that_pair_only(model: CompatibilityModel) -> None:
    before = model.predict("effect", ["Caching", "Timeout"])
    other = model.predict("effect", ["Retry", "Metrics"])
    for _ in range(4):
        model.partial_fit([Outcome("effect", ("Caching", "Timeout"), False, 1.0)] * 3)
    assert before > 0.9 and model.predict("effect", ["Caching", "Timeout"]) < before - 0.3
    assert abs(model.predict("effect", ["Retry", "Metrics"]) - other) < 0.3


def test_partial_fit_user_counts_more_than_automated(trained: CompatibilityModel) -> None:
    user, auto = trained.copy(), trained.copy()
    event = ("effect", ("Caching", "Timeout"))
    user.partial_fit([Outcome(*event, False, 1.0)])
    auto.partial_fit([Outcome(*event, False, 0.5)])
    assert user.predict(*event) < auto.predict(*event) < trained.predict(*event)


def test_bytes_round_trip_same_predictions_and_continues_learning(
        trained: CompatibilityModel, split: tuple[list[Outcome], list[Outcome]]) -> None:
    loaded = from_bytes(to_bytes(trained))
    keys = [o.key for o in split[1][:50]]
    assert np.allclose(loaded.predict_keys(keys), trained.predict_keys(keys))
    assert loaded.steps == trained.steps
    loaded.partial_fit(split[0][:20])
    assert loaded.examples_seen > trained.examples_seen


def test_from_bytes_garbage_raises_model_format_error() -> None:
    with pytest.raises(ModelFormatError, match="onexgen mixins train"):
        from_bytes(b"PK\x03\x04 not a model")


def test_expected_calibration_error_perfect_and_overconfident() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    assert expected_calibration_error(y.copy(), y) == 0.0
    assert expected_calibration_error(np.full(4, 0.95), y) == pytest.approx(0.45)


def test_learning_curve_more_feedback_better_accuracy(
        split: tuple[list[Outcome], list[Outcome]]) -> None:
    points = learning_curve(split[0], split[1], [20, 1000])
    assert points[0].events == 20 and points[-1].accuracy > points[0].accuracy
    assert points[-1].accuracy >= 0.95
