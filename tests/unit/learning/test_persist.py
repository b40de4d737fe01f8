"""Pattern model persistence: arrays and JSON, never pickle; refusals name the fix."""

from __future__ import annotations

import io
import pickle
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import sklearn
from structlog.testing import capture_logs

from onexgen.learning.patterns import persist, training
from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import DEFAULT_MODEL_PATH
from onexgen.learning.patterns.detector import PatternDetector, TrainingExample
from onexgen.learning.patterns.errors import ModelFormatError
from onexgen.learning.patterns.persist import (
    LEGACY_PICKLE_MAGIC,
    copy_of,
    from_bytes,
    sklearn_series,
    to_bytes,
)
from onexgen.learning.patterns.thresholds import Evidence
from tests.unit.learning.conftest import as_feature_version_2, as_format_2, make_request

PROBE = [make_request("Retries the payment call with backoff and e-mails finance on failure."),
         make_request("", [("list_orders", "filter by status, sorted by date, paginated")])]


def _rewrite_header(data: bytes, **changes: object) -> bytes:
    import json

    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes().decode())
    header.update(changes)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_to_bytes_is_an_npz_loadable_without_pickle(trained: PatternDetector) -> None:
    with np.load(io.BytesIO(to_bytes(trained)), allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
        assert "header" in npz.files


def test_round_trip_after_feedback_keeps_weights_thresholds_and_evidence(
        trained: PatternDetector) -> None:
    detector = copy_of(trained)
    detector.learn([TrainingExample(PROBE[0], "notification", True, 1.0)])
    detector.tune_from_evidence({"caching": [Evidence(0.7, True, 0.5)] * 4}, only_raise=True)
    loaded = from_bytes(to_bytes(detector))
    assert np.array_equal(loaded.confidences(PROBE), detector.confidences(PROBE))
    assert loaded.thresholds == detector.thresholds
    assert loaded.calibration == detector.calibration
    assert to_bytes(loaded) == to_bytes(detector)


def test_from_bytes_legacy_pickle_refused_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))

    with pytest.raises(ModelFormatError, match=r"old pickle format.*retrain"):
        from_bytes(LEGACY_PICKLE_MAGIC + pickle.dumps(Payload()))
    assert not marker.exists()


def test_from_bytes_other_sklearn_series_refused_naming_versions(
        trained: PatternDetector) -> None:
    other = "0.1.0"
    assert sklearn_series(other) != sklearn_series()
    with pytest.raises(ModelFormatError, match=rf"scikit-learn {other}.*retrain"):
        from_bytes(_rewrite_header(to_bytes(trained), sklearn=other))


def test_from_bytes_same_series_other_patch_loads(trained: PatternDetector) -> None:
    patch = sklearn_series() + ".999"
    loaded = from_bytes(_rewrite_header(to_bytes(trained), sklearn=patch))
    assert np.array_equal(loaded.confidences(PROBE), trained.confidences(PROBE))


def test_from_bytes_other_feature_width_refused(trained: PatternDetector) -> None:
    with pytest.raises(ModelFormatError, match="feature layout changed"):
        from_bytes(_rewrite_header(to_bytes(trained), width=17))


def test_from_bytes_model_of_older_feature_version_refused(trained: PatternDetector) -> None:
    """A model learnt on unstemmed words without the name reads other columns: retrain."""
    with pytest.raises(ModelFormatError, match="retrain"):
        from_bytes(_rewrite_header(to_bytes(trained), features=1))


def test_from_bytes_feature_version_2_row_loads_scoring_as_it_did(
        logistic_trained: PatternDetector) -> None:
    """A row stored before the text vector has the same word, character and rule columns:
    it loads with zero text-vector weights, scores as stored, learns and saves as version 3."""
    data, expected = as_feature_version_2(as_format_2(to_bytes(logistic_trained)))
    loaded = from_bytes(data)
    assert loaded.head is None
    assert np.array_equal(loaded.confidences(PROBE), expected.confidences(PROBE))
    assert not np.array_equal(loaded.confidences(PROBE), logistic_trained.confidences(PROBE))
    assert loaded.thresholds == logistic_trained.thresholds
    loaded.learn([TrainingExample(PROBE[0], "notification", False, 5.0)])
    again = from_bytes(to_bytes(loaded))
    assert np.array_equal(again.confidences(PROBE), loaded.confidences(PROBE))


def test_shipped_default_model_is_what_the_recipe_trains() -> None:
    """The wheel's model is not stale: retraining from the shipped files reproduces it."""
    shipped = persist.load(DEFAULT_MODEL_PATH)
    retrained = training.train_default()
    assert shipped.thresholds == retrained.thresholds
    assert np.allclose(shipped.confidences(PROBE), retrained.confidences(PROBE), atol=1e-6)
    for name, model in retrained.models.items():
        assert np.allclose(shipped.models[name].coef_, model.coef_, rtol=0, atol=1e-12)
    assert shipped.head is not None and retrained.head is not None
    for name, array in retrained.head.arrays().items():
        assert np.allclose(shipped.head.arrays()[name], array, rtol=0, atol=1e-6), name


def test_default_detector_unusable_shipped_file_warns_and_retrains(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    legacy = tmp_path / "default_model.npz"
    legacy.write_bytes(LEGACY_PICKLE_MAGIC + b"whatever")
    monkeypatch.setattr(training, "DEFAULT_MODEL_PATH", legacy)  # what it loads
    training.default_detector.cache_clear()
    try:
        with capture_logs() as logs:
            detector = training.default_detector()
        assert [e["event"] for e in logs] == ["pattern_default_model_unusable"]
        shipped = persist.load(DEFAULT_MODEL_PATH)
        assert np.allclose(detector.confidences(PROBE), shipped.confidences(PROBE), atol=1e-6)
    finally:
        training.default_detector.cache_clear()


def test_header_records_running_sklearn_version(trained: PatternDetector) -> None:
    import json

    with np.load(io.BytesIO(to_bytes(trained)), allow_pickle=False) as npz:
        header = json.loads(npz["header"].tobytes().decode())
    assert header["sklearn"] == sklearn.__version__ and header["format"] == persist.FORMAT


def test_from_bytes_config_before_feature_steps_loads_with_their_defaults(
        trained: PatternDetector) -> None:
    """Rows stored before ``novel_step``, ``frequency_damping`` and ``rehearsal_weight``
    existed (the shipped model among them) load, and feedback on them uses them."""
    config = {k: v for k, v in asdict(trained.config).items()
              if k not in ("novel_step", "frequency_damping", "rehearsal_weight")}
    loaded = from_bytes(_rewrite_header(to_bytes(trained), config=config))
    assert loaded.config == DetectorConfig()
    assert np.array_equal(loaded.confidences(PROBE), trained.confidences(PROBE))


def test_from_bytes_config_before_learn_at_threshold_loads_learning_as_it_did(
        trained: PatternDetector) -> None:
    """A row stored before ``learn_at_threshold`` (format 3, the shipped model until
    session 18) keeps learning as it did (0.5-centred, its stored steps: the new steps
    were chosen with the new centring), and scores as stored."""
    from dataclasses import replace

    stored = replace(trained.config, learn_at_threshold=False, novel_step=32.0,
                     frequency_damping=300.0)
    config = {k: v for k, v in asdict(stored).items() if k != "learn_at_threshold"}
    loaded = from_bytes(_rewrite_header(to_bytes(trained), config=config))
    assert loaded.config == stored
    assert np.array_equal(loaded.confidences(PROBE), trained.confidences(PROBE))


def test_from_bytes_config_before_clauses_scores_whole_texts_as_stored(
        logistic_trained: PatternDetector) -> None:
    """A row stored before clause scoring (no ``clause_weight`` in its config) had its
    thresholds tuned on whole texts: it loads with weight 0 and scores as it did."""
    from dataclasses import replace

    from onexgen.learning.patterns.clauses import combine, model_texts
    from onexgen.learning.patterns.features import feature_matrix
    from onexgen.learning.patterns.library import PATTERN_NAMES
    from onexgen.learning.patterns.rehearsal import sigmoid

    trained = logistic_trained  # rows before clause scoring predate the MLP head (format 2)
    assert trained.config.clause_weight > 0
    config = {k: v for k, v in asdict(trained.config).items()
              if k != "clause_weight" and k != "vector_head" and not k.startswith("mlp_")}
    loaded = from_bytes(_rewrite_header(as_format_2(to_bytes(trained)), config=config))
    assert loaded.config == replace(DetectorConfig(), clause_weight=0.0, vector_head="logistic")
    found = model_texts(PROBE, clauses=False)
    rows = feature_matrix(found.texts, found.rules)
    whole = np.round(sigmoid(np.column_stack(
        [rows @ trained.models[n].coef_[0] + trained.models[n].intercept_[0]
         for n in PATTERN_NAMES])), 6)
    assert np.allclose(loaded.confidences(PROBE), whole, atol=1e-6)
    assert not np.allclose(trained.confidences(PROBE), whole, atol=1e-3)
    assert combine(np.ones((1, 1)), 1, np.zeros(0, np.intp), 0.0).tolist() == [[1.0]]
