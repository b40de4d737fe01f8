"""What feedback may change: common features barely move, new ones learn, and the
rehearsed training requests hold their labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import LabeledRequest
from onexgen.learning.patterns.detector import PatternDetector, TrainingExample
from onexgen.learning.patterns.features import vector_columns
from onexgen.learning.patterns.feedback import FeedbackLearner
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import copy_of
from onexgen.learning.patterns.plasticity import (
    TrainingMemory,
    document_frequency,
    feature_steps,
    training_memory,
)
from onexgen.models.wire import FeedbackSource, PatternFeedback, PatternFeedbackType
from tests.unit.learning.conftest import make_request

COMMON = [LabeledRequest(make_request(f"Sends the {w} report to the finance team.",
                                      rid=f"c-{i}"), frozenset({"notification"}))
          for i, w in enumerate(["daily", "weekly", "monthly", "yearly"])]


def _columns(text: str) -> set[int]:
    rows = PatternDetector().featurise([make_request(text)])[1]
    assert rows is not None
    return set(rows.indices.tolist())


def test_document_frequency_shared_word_one_unseen_word_zero() -> None:
    frequency = document_frequency(COMMON)
    shared = _columns("Sends the report to the finance team.")
    unseen = _columns("Zygote") - shared
    assert unseen and all(frequency[c] == 0.0 for c in unseen)
    assert max(frequency[c] for c in shared) == 1.0
    assert frequency.min() >= 0.0 and frequency.max() <= 1.0


def test_feature_steps_frequent_column_smaller_than_unseen() -> None:
    config = DetectorConfig(novel_step=8.0, frequency_damping=100.0)
    steps = feature_steps(np.array([0.0, 0.01, 0.5]), config)
    np.testing.assert_allclose(steps, [8.0, 4.0, 8.0 / 51.0])


def test_learn_zero_step_columns_unchanged_others_move(trained: PatternDetector) -> None:
    detector = copy_of(trained)
    example = TrainingExample(make_request("Moves the ledger over tranche by tranche."),
                              "batch_processing", True)
    rows = detector.featurise([example.request])[1]
    assert rows is not None
    held = rows.indices[: len(rows.indices) // 2]
    steps = np.full(rows.shape[1], detector.config.update_step)
    steps[held] = 0.0
    before = detector.models["batch_processing"].coef_[0].copy()
    detector.learn([example], rows, steps)
    after = detector.models["batch_processing"].coef_[0]
    np.testing.assert_array_equal(after[held], before[held])
    start, stop = vector_columns()
    rest = rows.indices[len(held):]
    vector = rest[(rest >= start) & (rest < stop)]
    moving = rest[(rest < start) | (rest >= stop)]
    assert len(vector) and len(moving)
    np.testing.assert_array_equal(after[vector], before[vector])  # fit's head stays
    assert np.all(after[moving] > before[moving])


def test_feedback_learner_common_word_moves_less_than_new_word(
        trained: PatternDetector) -> None:
    """Corrections share "the report to the finance team" with every request the
    frequencies came from; the new word ("tranche") must carry what is learned."""
    detector = copy_of(trained)
    learner = FeedbackLearner(detector, memory=TrainingMemory(document_frequency(COMMON), None))
    fixes = [make_request(f"Sends the {w} report to the finance team tranche by tranche.",
                          rid=f"f-{i}") for i, w in enumerate(["audit", "tax", "claims"])]
    events = [PatternFeedback(request_id=r.request_id, pattern_name="batch_processing",
                              detected_confidence=0.1,
                              feedback_type=PatternFeedbackType.ADJUSTED,
                              actual_pattern="batch_processing", source=FeedbackSource.USER)
              for r in fixes]
    before = detector.models["batch_processing"].coef_[0].copy()
    learner.apply(list(zip(events, fixes, strict=True)))
    moved = np.abs(detector.models["batch_processing"].coef_[0] - before)
    common = sorted(_columns("Sends the report to the finance team."))
    new = sorted(_columns("tranche") - set(common))
    assert moved[new].max() > 20 * moved[common].max()


def test_training_memory_samples_rows_with_their_labels() -> None:
    memory = training_memory(COMMON, rehearsal_size=3)
    assert memory.rehearsal is not None
    assert memory.rehearsal.rows.shape == (3, len(memory.frequency))
    assert memory.rehearsal.labels["notification"].tolist() == [1.0, 1.0, 1.0]
    assert set(memory.rehearsal.labels) == set(PATTERN_NAMES)
    np.testing.assert_array_equal(memory.frequency, document_frequency(COMMON))


def test_learn_with_rehearsal_holds_a_rehearsed_negative(trained: PatternDetector) -> None:
    """Corrections teach batch_processing on "... to the archive in one go"; rehearsed
    requests without it, sharing those words, rise less than without rehearsal."""
    negatives = [LabeledRequest(make_request(f"Copies the {w} notes to the archive in one go.",
                                             rid=f"n-{i}"), frozenset())
                 for i, w in enumerate(["meeting", "design", "audit", "legal", "team"])]
    memory = training_memory(negatives, rehearsal_size=len(negatives))
    fixes = [TrainingExample(make_request(f"Copies the {w} files to the archive in one go.",
                                          rid=f"f-{i}"), "batch_processing", True)
             for i, w in enumerate(["ledger", "claim", "meter", "payroll", "tax"])]
    probe = [r.request for r in negatives]
    column = PATTERN_NAMES.index("batch_processing")
    rises = []
    for rehearsal in (None, memory.rehearsal):
        detector = copy_of(trained)
        before = detector.confidences(probe)[:, column]
        detector.learn(fixes, None, None, rehearsal)
        rises.append(float(np.mean(detector.confidences(probe)[:, column] - before)))
    assert rises[0] > 0.05
    assert rises[1] < rises[0] / 2


@pytest.mark.parametrize(("at_threshold", "positive"),
                         [(True, True), (False, True), (True, False)])
def test_learn_step_uses_the_whole_margin_text_vector_and_threshold_included(
        trained: PatternDetector, at_threshold: bool, positive: bool) -> None:
    """One plain step on one verdict is the log loss's gradient at the model's own
    confidence: the fixed text-vector network's margin counts in it, and a positive
    verdict's margin is taken relative to its pattern's threshold (as a whole-text
    margin) with ``learn_at_threshold``; a negative one's is not."""
    detector = copy_of(trained)
    detector.config = dataclasses.replace(detector.config, update_epochs=1,
                                          learn_at_threshold=at_threshold)
    detector.thresholds["caching"] = 0.85
    request = make_request("Keeps recently fetched prices in memory for ten minutes.")
    rows = detector.featurise([request])[1]
    assert rows is not None and detector.head is not None
    model = detector.models["caching"]
    start, stop = vector_columns()
    vector_part = detector.config.vector_blend * float(detector.head.margins(
        rows[:, start:stop].toarray())[0, PATTERN_NAMES.index("caching")])
    assert abs(vector_part) > 0.1, "the example exercises the text vector's network"
    cut = np.log(0.85 / 0.15) / (1.0 + detector.config.clause_weight)
    shift = cut if at_threshold and positive else 0.0
    p = 1.0 / (1.0 + np.exp(-(float((rows @ model.coef_[0])[0]) + float(model.intercept_[0])
                               + vector_part - shift)))
    column, value = int(rows.indices[0]), float(rows.data[0])
    before = float(model.coef_[0, column])
    detector.learn([TrainingExample(request, "caching", positive, 1.0)], rows)
    config = detector.config
    expected = before - config.update_step * (
        (p - float(positive)) * value / config.update_chunk + config.alpha * before)
    assert float(detector.models["caching"].coef_[0, column]) == pytest.approx(expected,
                                                                               rel=1e-9)
