"""Upgrade: a pattern model row stored in the old pickle format is refused unread; a row
stored before the feedback settings of session 13 loads and learns with them; a row of
feature version 2 (before the text vector) loads, scores as stored and learns; so does a
row of format 2 (the text vector read by a logistic head, before the MLP head), built
here from this release's bytes and also as the previous release wrote it.

The row's pickle, if it were ever unpickled, would create a marker file; the test
proves the store skips it with a warning, the feedback loop starts from the
shipped default detector instead, and nothing ran.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from structlog.testing import capture_logs

from onexgen.learning.models_store import PATTERNS_KIND, ModelStore
from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import LEGACY_PICKLE_MAGIC, to_bytes
from onexgen.learning.patterns.training import default_detector
from onexgen.learning.processor import PatternUpdater
from onexgen.models.wire import FeedbackSource, PatternFeedback, PatternFeedbackType
from onexgen.storage.pool import Database
from tests.unit.learning.conftest import (
    as_feature_version_2,
    as_format_2,
    logistic_detector,
    make_request,
)

pytestmark = pytest.mark.integration

PREVIOUS_RELEASE = Path(__file__).parent / "data"
"""Model rows written by an earlier release's own code (see each test)."""


class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code would have run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))


async def test_latest_detector_legacy_pickle_row_refused_and_default_used(
        db: Database, tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    legacy = LEGACY_PICKLE_MAGIC + pickle.dumps({"models": _Payload(marker)})
    store = ModelStore(db.pool)
    version = await store.versions.save(PATTERNS_KIND, legacy, params={}, metrics={})
    with capture_logs() as logs:
        assert await store.latest_detector() is None
        updater = await PatternUpdater.open(store)
    try:
        refused = [e for e in logs if e["event"] == "pattern_model_version_refused"]
        assert refused and refused[0]["version"] == version
        assert "pickle" in refused[0]["error"] and refused[0]["log_level"] == "warning"
        assert not marker.exists()
        probe = [make_request("Sends an SMS to the customer when the parcel ships.")]
        assert np.array_equal(updater.learner.detector.confidences(probe),
                              default_detector().confidences(probe))
    finally:
        updater.close()


async def test_latest_detector_current_format_row_loads(db: Database) -> None:
    store = ModelStore(db.pool)
    version = await store.save_detector(default_detector(), metrics={})
    loaded = await store.latest_detector()
    assert loaded is not None and loaded.version == version
    assert to_bytes(loaded.detector) == to_bytes(default_detector())


async def test_row_stored_before_feature_steps_loads_and_learns_with_them(
        db: Database) -> None:
    """A row whose config predates ``novel_step`` / ``frequency_damping`` /
    ``rehearsal_weight`` (every row stored before them) is used: the updater opens it,
    with those settings' defaults, and a correction moves a new word far more than "the"."""
    old_keys = ("novel_step", "frequency_damping", "rehearsal_weight")
    with np.load(io.BytesIO(to_bytes(default_detector())), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes().decode())
    header["config"] = {k: v for k, v in header["config"].items() if k not in old_keys}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    store = ModelStore(db.pool)
    await store.versions.save(PATTERNS_KIND, buffer.getvalue(), params={}, metrics={})
    updater = await PatternUpdater.open(store)
    try:
        detector = updater.learner.detector
        assert detector.config == DetectorConfig()
        request = make_request("Moves the claims over to the bank tranche by tranche.")
        event = PatternFeedback(request_id=request.request_id, pattern_name="batch_processing",
                                detected_confidence=0.1,
                                feedback_type=PatternFeedbackType.ADJUSTED,
                                actual_pattern="batch_processing", source=FeedbackSource.USER)
        before = detector.models["batch_processing"].coef_[0].copy()
        await updater.update([(event, request)])
        moved = np.abs(detector.models["batch_processing"].coef_[0] - before)
        the, tranche = (_word_column(w) for w in ("the", "tranch"))
        assert moved[tranche] > 50 * moved[the] > 0
    finally:
        updater.close()


def _word_column(gram: str) -> int:
    from sklearn.utils import murmurhash3_32

    from onexgen.learning.patterns.features import N_WORD_FEATURES

    return abs(int(murmurhash3_32(gram, seed=0))) % N_WORD_FEATURES


PROBES = ["Keeps recently fetched prices in memory for ten minutes."]


async def test_row_of_feature_version_2_loads_scores_as_stored_and_learns(
        db: Database) -> None:
    data, expected = as_feature_version_2(as_format_2(to_bytes(logistic_detector())))
    await _loads_scores_as_stored_and_learns(db, data, PROBES, expected.confidences(
        [make_request(text) for text in PROBES]))


async def test_row_of_format_2_logistic_head_loads_scores_as_stored_and_learns(
        db: Database) -> None:
    """The rows stored before the MLP head (the text vector in the linear model's columns)."""
    expected = logistic_detector()
    assert expected.head is None
    await _loads_scores_as_stored_and_learns(
        db, as_format_2(to_bytes(expected)), PROBES,
        expected.confidences([make_request(text) for text in PROBES]))


async def test_row_written_by_the_previous_release_loads_scores_as_stored_and_learns(
        db: Database) -> None:
    """Bytes the previous release (68a7141, format 2) wrote, not rewritten by this one: a
    detector fitted on the first 45 train requests (each pattern has 3 positives),
    thresholds tuned on the next 80 (so the row holds threshold evidence), and its
    confidences on five probes, recorded by that release's code (``to_bytes``,
    ``confidences``) in ``data/patterns-format-2.*``."""
    data = (PREVIOUS_RELEASE / "patterns-format-2.npz").read_bytes()
    recorded = json.loads((PREVIOUS_RELEASE / "patterns-format-2.expected.json").read_text())
    await _loads_scores_as_stored_and_learns(db, data, recorded["probes"],
                                             np.array(recorded["confidences"]),
                                             thresholds=recorded["thresholds"], saturated=True)


async def _loads_scores_as_stored_and_learns(
        db: Database, data: bytes, probes: list[str], expected: npt.NDArray[np.float64],
        thresholds: dict[str, float] | None = None, saturated: bool = False) -> None:
    """Stores ``data`` as the latest row; the updater opens it, scores ``probes`` exactly as
    ``expected`` (with ``thresholds``, if given) and learns from a correction: the new
    word's weight rises, and so does the request's confidence unless the model is
    ``saturated`` (a tiny fit whose confidence, rounded to 6 places, is 0 there)."""
    store = ModelStore(db.pool)
    version = await store.versions.save(PATTERNS_KIND, data, params={}, metrics={})
    with capture_logs() as logs:
        updater = await PatternUpdater.open(store)
    try:
        assert not [e for e in logs if e["event"] == "pattern_model_version_refused"]
        loaded = await store.latest_detector()
        assert loaded is not None and loaded.version == version
        detector = updater.learner.detector
        assert detector.head is None and detector.config.vector_head == "logistic"
        scored = detector.confidences([make_request(text) for text in probes])
        assert np.array_equal(scored, expected)
        assert thresholds is None or detector.thresholds == thresholds
        request = make_request("Moves the claims over to the bank tranche by tranche.")
        event = PatternFeedback(request_id=request.request_id, pattern_name="batch_processing",
                                detected_confidence=0.1,
                                feedback_type=PatternFeedbackType.ADJUSTED,
                                actual_pattern="batch_processing", source=FeedbackSource.USER)
        batch = PATTERN_NAMES.index("batch_processing")
        before = detector.confidences([request])[0, batch]
        tranche = _word_column("tranch")
        weight = detector.models["batch_processing"].coef_[0, tranche]
        await updater.update([(event, request)])
        assert detector.models["batch_processing"].coef_[0, tranche] > weight
        if not saturated:
            assert detector.confidences([request])[0, batch] > before
    finally:
        updater.close()
