"""The MLP head: plain arrays, a deterministic converging fit, stored and loaded as arrays,
and feedback that counts its part of the margin."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.detector import PatternDetector, TrainingExample
from onexgen.learning.patterns.errors import ModelFormatError, PatternError
from onexgen.learning.patterns.head import MlpHead, fit_head
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import copy_of, from_bytes, to_bytes
from tests.unit.learning.conftest import as_format_2, make_request

PROBE = [make_request("Keeps recently fetched prices in memory for ten minutes."),
         make_request("Totals the claims per region. Caches the totals. E-mails a digest.")]


def _toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two separable label columns that need the hidden layer (an XOR of two directions)."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(300, 16))
    labels = np.column_stack([(x[:, 0] > 0) ^ (x[:, 1] > 0), x[:, 2] > 0.5])
    return x, labels


def test_fit_head_same_data_twice_gives_identical_arrays() -> None:
    x, labels = _toy()
    config = DetectorConfig(mlp_hidden=16)
    first, second = fit_head(x, labels, config), fit_head(x, labels, config)
    for name, array in first.arrays().items():
        assert np.array_equal(array, second.arrays()[name]), name


def test_fit_head_learns_interaction_a_linear_head_cannot() -> None:
    x, labels = _toy()
    head = fit_head(x, labels, DetectorConfig(mlp_hidden=16))
    predicted = head.margins(x) > 0
    assert head.margins(x).dtype == np.float64 and predicted.shape == labels.shape
    assert np.mean(predicted[:, 0] == labels[:, 0]) > 0.9  # XOR: a linear model gets ~0.5


def test_fit_head_bound_reached_raises_naming_the_setting() -> None:
    x, labels = _toy()
    with pytest.raises(PatternError, match="mlp_max_iter"):
        fit_head(x, labels, DetectorConfig(mlp_hidden=16, mlp_max_iter=2))


def test_mlp_head_arrays_that_do_not_fit_refused() -> None:
    with pytest.raises(ModelFormatError, match="retrain"):
        MlpHead(np.zeros((8, 4), np.float32), np.zeros(3, np.float32),
                np.zeros((4, 2), np.float32), np.zeros(2, np.float32))


def test_trained_detector_reads_vectors_with_its_network_not_columns(
        trained: PatternDetector) -> None:
    from onexgen.learning.patterns.features import vector_columns

    assert trained.config.vector_head == "mlp" and trained.head is not None
    start, stop = vector_columns()
    assert all(not model.coef_[0, start:stop].any() for model in trained.models.values())


def test_round_trip_keeps_network_arrays_and_confidences(trained: PatternDetector) -> None:
    assert trained.head is not None
    loaded = from_bytes(to_bytes(trained))
    assert loaded.head is not None
    for name, array in trained.head.arrays().items():
        assert np.array_equal(loaded.head.arrays()[name], array), name
    assert np.array_equal(loaded.confidences(PROBE), trained.confidences(PROBE))


def test_network_changes_the_confidences(trained: PatternDetector) -> None:
    """The stored network is read: without it the same model scores otherwise."""
    without = copy_of(trained)
    without.head = None
    assert not np.allclose(without.confidences(PROBE), trained.confidences(PROBE), atol=1e-3)


def test_from_bytes_network_of_other_width_refused(trained: PatternDetector) -> None:
    with np.load(io.BytesIO(to_bytes(trained)), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["head_hidden_weights"] = arrays["head_hidden_weights"][:100]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ModelFormatError, match="retrain"):
        from_bytes(buffer.getvalue())


def test_from_bytes_network_flagged_but_missing_refused(trained: PatternDetector) -> None:
    with np.load(io.BytesIO(to_bytes(trained)), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if not k.startswith("head_")}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ModelFormatError, match="damaged"):
        from_bytes(buffer.getvalue())


def test_from_bytes_format_2_row_loads_as_logistic_and_scores_as_stored(
        logistic_trained: PatternDetector) -> None:
    """A row stored before the network (format 2) reads the text vector with its own
    columns, scores exactly as stored, learns, and saves in the current format."""
    loaded = from_bytes(as_format_2(to_bytes(logistic_trained)))
    assert loaded.head is None and loaded.config.vector_head == "logistic"
    assert loaded.config == logistic_trained.config
    assert np.array_equal(loaded.confidences(PROBE), logistic_trained.confidences(PROBE))
    loaded.learn([TrainingExample(PROBE[0], "caching", True, 5.0)])
    again = from_bytes(to_bytes(loaded))
    assert json.loads(np.load(io.BytesIO(to_bytes(loaded)))["header"].tobytes())["format"] \
        == "onexgen-patterns/3"
    assert np.array_equal(again.confidences(PROBE), loaded.confidences(PROBE))


def test_learn_counts_network_margin_as_fixed_part(trained: PatternDetector) -> None:
    """A verdict the network already gives with certainty moves no weight; without the
    network in the fixed part, the same verdict would move them."""
    j = PATTERN_NAMES.index("caching")
    assert trained.head is not None
    sure = copy_of(trained)
    assert sure.head is not None
    bias = sure.head.output_bias.copy()
    bias[j] = 1e4
    sure.head = replace(sure.head, output_bias=bias)
    unsure = copy_of(trained)
    example = [TrainingExample(PROBE[1], "caching", True, 5.0)]
    before = sure.models["caching"].coef_.copy()
    sure.learn(example)
    unsure.learn(example)
    decay_only = np.abs(sure.models["caching"].coef_ - before).max()
    moved = np.abs(unsure.models["caching"].coef_ - before).max()
    assert moved > 100 * decay_only
