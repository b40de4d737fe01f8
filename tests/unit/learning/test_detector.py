"""Detector behaviour: determinism, batching, persistence, thresholds, learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from onexgen.learning.patterns.dataset import TRAIN_PATH
from onexgen.learning.patterns.detector import PatternDetector, TrainingExample
from onexgen.learning.patterns.errors import ModelFormatError, UnknownPatternError
from onexgen.learning.patterns.persist import copy_of, from_bytes, load, save, to_bytes
from onexgen.learning.patterns.thresholds import Evidence, choose_threshold
from tests.unit.learning.conftest import make_request

SPLITS = {"train.jsonl": TRAIN_PATH,
          "test.jsonl": Path(__file__).resolve().parents[3] / "data" / "patterns" / "test.jsonl"}

REQUESTS = [
    make_request("Creates, reads and deletes notes; caches hot notes.", rid="r1"),
    make_request("Sends an SMS when the job fails, retrying with backoff.", rid="r2"),
    make_request("", [("sum_sales_by_region", ""), ("publish_total", "to the totals topic")],
                 rid="r3"),
]


def test_save_load_round_trip_gives_identical_predictions(
        trained: PatternDetector, tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    save(trained, path)
    loaded = load(path)
    assert np.array_equal(loaded.confidences(REQUESTS), trained.confidences(REQUESTS))
    assert loaded.detect_many(REQUESTS) == trained.detect_many(REQUESTS)
    assert loaded.thresholds == trained.thresholds


def test_from_bytes_foreign_bytes_raises_model_format_error() -> None:
    with pytest.raises(ModelFormatError, match="retrain"):
        from_bytes(b"not a model")


def test_detect_many_same_as_one_by_one(trained: PatternDetector) -> None:
    assert trained.detect_many(REQUESTS) == [trained.detect(r) for r in REQUESTS]


def test_detect_repeated_calls_deterministic(trained: PatternDetector) -> None:
    assert to_bytes(copy_of(trained)) == to_bytes(trained)
    assert trained.detect_many(REQUESTS) == trained.detect_many(REQUESTS)


def test_detect_untrained_detector_uses_rules() -> None:
    found = {d.name for d in PatternDetector().detect(REQUESTS[1])}
    assert {"notification", "resilience"} <= found


def test_learn_unknown_pattern_raises_naming_valid_ones(trained: PatternDetector) -> None:
    with pytest.raises(UnknownPatternError, match="crud"):
        copy_of(trained).learn([TrainingExample(REQUESTS[0], "teleport", True)])


def test_learn_negative_examples_lower_confidence(trained: PatternDetector) -> None:
    detector = copy_of(trained)
    request = make_request("Publishes and unpublishes articles on the public website.")
    column = 4  # event_publishing
    before = detector.confidences([request])[0, column]
    seconds = detector.learn([TrainingExample(request, "event_publishing", False)] * 5)
    assert detector.confidences([request])[0, column] < before
    assert seconds < 1.0


def test_learn_one_batch_of_25_equals_five_batches_of_5(trained: PatternDetector) -> None:
    """The learning rate is per event: how verdicts are batched does not change the result."""
    fixes = [TrainingExample(make_request(f"Moves the {w} files over tranche by tranche.",
                                          rid=f"f-{i}"), "batch_processing", True)
             for i, w in enumerate(["ledger", "audit", "claim", "meter", "payroll"] * 5)]
    at_once, in_fives = copy_of(trained), copy_of(trained)
    at_once.learn(fixes)
    for start in range(0, len(fixes), 5):
        in_fives.learn(fixes[start:start + 5])
    probe = [make_request("Moves the parcel files over tranche by tranche.")]
    column = 8  # batch_processing
    assert at_once.confidences(probe)[0, column] > trained.confidences(probe)[0, column] + 0.1
    np.testing.assert_allclose(at_once.models["batch_processing"].coef_,
                               in_fives.models["batch_processing"].coef_)


def test_choose_threshold_lowest_cut_meeting_target() -> None:
    evidence = [Evidence(0.9, True), Evidence(0.8, True), Evidence(0.7, False),
                Evidence(0.6, True), Evidence(0.3, False), Evidence(0.2, False)]
    # at cut 0.75 precision is 2/2; at 0.45 it is 3/4 < 0.95: the cut stays at 0.75
    assert choose_threshold(evidence, 0.95, min_positive_weight=1.0) == pytest.approx(0.75)
    assert choose_threshold(evidence, 0.7, min_positive_weight=1.0) == pytest.approx(0.45)


def test_choose_threshold_thin_evidence_keeps_current() -> None:
    assert choose_threshold([Evidence(0.9, True)], 0.95) is None


def test_tune_thresholds_labeled_requests_sets_every_pattern(trained: PatternDetector) -> None:
    detector = copy_of(trained)
    labels = [frozenset({"crud", "caching"}), frozenset({"notification", "resilience"}),
              frozenset({"aggregation", "event_publishing"})]
    cuts = detector.tune_thresholds(REQUESTS, labels, target_precision=0.95)
    assert set(cuts) == set(trained.thresholds)
    assert all(0.0 < c < 1.0 for c in cuts.values())


def test_cached_hashers_build_exactly_scikit_learns_matrices() -> None:

    from onexgen.learning.patterns.dataset import parse_request
    from onexgen.learning.patterns.features import _CHARS, _WORDS, CHAR_HASHER, WORD_HASHER
    from onexgen.learning.patterns.text import request_text

    texts = [request_text(parse_request(line)) for f in ("train.jsonl", "test.jsonl")
             for line in SPLITS[f].read_text().splitlines() if line.strip()]
    texts += ["", "a", "ab", "x y", "über straße ✓ naïve", "not_cache not_retry  twice  spaced"]
    for ours, theirs in ((WORD_HASHER, _WORDS), (CHAR_HASHER, _CHARS)):
        for _ in range(2):  # cold, then from the cache
            mine, reference = ours.transform(texts), theirs.transform(texts)
            assert mine.shape == reference.shape and mine.nnz == reference.nnz > len(texts)
            assert abs(mine - reference).max() == 0


def test_feature_matrix_is_the_four_blocks_side_by_side() -> None:
    """Built in one piece, it must equal ``hstack`` of the word, character, text-vector and
    rule blocks."""
    import scipy.sparse as sp

    from onexgen.learning.patterns.dataset import parse_request
    from onexgen.learning.patterns.features import (
        CHAR_HASHER,
        RULE_SCALE,
        WORD_HASHER,
        feature_matrix,
        rule_matrix,
        text_vectors,
        vector_columns,
    )
    from onexgen.learning.patterns.text import request_text

    texts = [request_text(parse_request(line))
             for line in TRAIN_PATH.read_text().splitlines() if line.strip()]
    texts += ["", "a", "not_cache twice"]
    rules = rule_matrix(texts)
    mine = feature_matrix(texts, rules)
    vectors = text_vectors(texts)
    reference = sp.hstack([WORD_HASHER.transform(texts), CHAR_HASHER.transform(texts),
                           sp.csr_matrix(vectors), sp.csr_matrix(rules * RULE_SCALE)],
                          format="csr")
    assert mine.shape == reference.shape
    start, stop = vector_columns()
    assert stop - start == vectors.shape[1] and np.abs(vectors[:-3]).sum(axis=1).all()
    assert np.array_equal(mine.indptr, reference.indptr)
    assert np.array_equal(mine.indices, reference.indices)
    assert np.array_equal(mine.data, reference.data)
    assert rules.any(), "the labelled set fires some rules: the rule block is exercised"


def _one_model_at_a_time(detector: PatternDetector) -> np.ndarray:
    """Confidences of REQUESTS scored the plain way: each pattern's model on its own."""
    from onexgen.learning.patterns.clauses import combine
    from onexgen.learning.patterns.library import PATTERN_NAMES
    from onexgen.learning.patterns.rehearsal import sigmoid

    features = detector.features(REQUESTS)
    found = features.texts
    assert len(found.owner), "a request of several clauses: the clause rows are exercised"
    from onexgen.learning.patterns.features import vector_columns

    out = found.rules[:found.requests].copy()
    start, stop = vector_columns()
    assert detector.head is not None, "the shipped model reads the vector with its network"
    network = detector.config.vector_blend * detector.head.margins(
        features.rows[:, start:stop].toarray())
    for j, name in enumerate(PATTERN_NAMES):
        model = detector.models.get(name)
        if model is not None:
            margins = features.rows @ model.coef_[0] + model.intercept_[0] + network[:, j]
            out[:, j] = sigmoid(combine(margins[:, None], found.requests, found.owner,
                                         detector.config.clause_weight)[:, 0])
    return np.round(out, 6)


def test_stacked_scoring_equals_each_model_alone_and_follows_learning(
        trained: PatternDetector) -> None:
    """The stacked weights give the same confidences, and are rebuilt when a model learns."""
    detector = copy_of(trained)
    before = detector.confidences(REQUESTS)
    assert np.array_equal(before, _one_model_at_a_time(detector))
    detector.learn([TrainingExample(REQUESTS[0], "crud", False, weight=20.0)])
    after = detector.confidences(REQUESTS)
    assert not np.array_equal(after, before), "learning moved the crud model"
    assert np.array_equal(after, _one_model_at_a_time(detector))


def test_feature_parts_are_feature_matrix_split_at_the_text_vector() -> None:
    """The sparse part plus the dense vectors placed at their columns is, value for value,
    the whole row ``feature_matrix`` builds (what ``learn`` and the rehearsal read)."""
    import scipy.sparse as sp

    from onexgen.learning.patterns.dataset import parse_request
    from onexgen.learning.patterns.features import (
        feature_matrix,
        feature_parts,
        rule_matrix,
        vector_columns,
    )
    from onexgen.learning.patterns.text import request_text

    texts = [request_text(parse_request(line))
             for line in TRAIN_PATH.read_text().splitlines() if line.strip()]
    texts += ["", "not_cache twice"]
    rules = rule_matrix(texts)
    whole = feature_matrix(texts, rules)
    sparse, vectors = feature_parts(texts, rules)
    start, stop = vector_columns()
    assert sparse.shape == whole.shape and vectors.shape == (len(texts), stop - start)
    assert not ((sparse.indices >= start) & (sparse.indices < stop)).any()
    placed = sp.hstack([sp.csr_matrix((len(texts), start)), sp.csr_matrix(vectors),
                        sp.csr_matrix((len(texts), whole.shape[1] - stop))], format="csr")
    rebuilt = (sparse + placed).tocsr()
    rebuilt.eliminate_zeros()
    assert rebuilt.nnz == whole.nnz and abs(rebuilt - whole).max() == 0


def test_confidences_two_products_equal_whole_rows_on_validation_split(
        trained: PatternDetector) -> None:
    """Detection's sparse + dense products give the whole rows' margins within float
    rounding on the validation split (the confidences, rounded to 6 places, equal)."""
    from onexgen.learning.patterns.dataset import CORPUS_VALIDATION_PATH, load_labeled

    requests = [r.request for r in load_labeled(CORPUS_VALIDATION_PATH)]
    new = trained.confidences(requests)
    old = trained.confidences_of(trained.features(requests))
    assert new.shape == (len(requests), 12) and (new > 0.5).sum() > len(requests) // 2
    assert np.abs(new - old).max() <= 1e-6
    assert np.array_equal(new >= 0.5, old >= 0.5)
