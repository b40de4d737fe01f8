"""Saving and loading a detector as bytes (a file, a model-version row in Postgres, the wheel).

Format ``onexgen-patterns/3``: a NumPy ``.npz`` read with ``allow_pickle=False``
holding a JSON header (format, scikit-learn version, pattern list, feature width,
config, thresholds, whether a text-vector network is stored) and plain arrays (each
model's non-zero weights as index/value pairs, intercepts, the threshold evidence, and
the network's four weight arrays: ``head``, applied with numpy, no scikit-learn object).
Format 2 (before the network) is format 3 without it: such rows load and score as
stored. Format 3 rather than new arrays in format 2: code that knows only format 2
refuses a model with a network instead of scoring it without one. Why not pickle: a row
in ``model_versions`` must never be able to run code in a worker, and a pickle
can. Loading only ever builds arrays and numbers from these bytes.

Checks on load, each a ``ModelFormatError`` naming the fix (retrain):
the old pickle format (``ONXPAT01...``) is refused WITHOUT being unpickled;
another format, another pattern list, feature width or feature version (what the
columns mean: stems, the name, the text vector), or a model written
under another scikit-learn major.minor (its hashing and analyzers make the
features the weights were learned on) is refused too. One older layout is upgraded
instead: a feature-version-2 model (rows stored before the text vector) has the same
word, character and rule columns, so it loads with zero weights on the text vector's
columns and scores exactly as it did (``upgrade_v2``).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sklearn

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.errors import ModelFormatError
from onexgen.learning.patterns.features import FEATURE_VERSION, feature_width, vector_columns
from onexgen.learning.patterns.head import from_arrays
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.linear import linear_model
from onexgen.learning.patterns.thresholds import Evidence

FORMAT = "onexgen-patterns/3"
_FORMATS = ("onexgen-patterns/2", FORMAT)
"""Formats loaded: 2 is 3 without the network (``head``)."""
LEGACY_PICKLE_MAGIC = b"ONXPAT01"
"""The first bytes of the pickle format this replaced: refused, never unpickled."""
_RETRAIN = "retrain it with `onexgen patterns train --out PATH`"


def sklearn_series(version: str = sklearn.__version__) -> str:
    """``major.minor`` of a scikit-learn version: what must match between save and load."""
    return ".".join(version.split(".")[:2])


def to_bytes(detector: PatternDetector) -> bytes:
    names = [n for n in PATTERN_NAMES if n in detector.models]
    indices, values, starts = [], [], [0]
    for name in names:
        coef = np.asarray(detector.models[name].coef_[0], dtype=np.float64)
        nz = np.flatnonzero(coef)
        indices.append(nz.astype(np.int64))
        values.append(coef[nz])
        starts.append(starts[-1] + len(nz))
    calib_names = sorted(detector.calibration)
    evidence = [(calib_names.index(n), e) for n in calib_names for e in detector.calibration[n]]
    header = {"format": FORMAT, "sklearn": sklearn.__version__, "patterns": list(PATTERN_NAMES),
              "width": feature_width(),
              "features": FEATURE_VERSION, "config": asdict(detector.config), "models": names,
              "thresholds": detector.thresholds, "calibration_patterns": calib_names,
              "target_precision": detector.target_precision,
              "head": detector.head is not None}
    head: dict[str, Any] = detector.head.arrays() if detector.head is not None else {}
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **head, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        coef_index=np.concatenate(indices) if indices else np.zeros(0, np.int64),
        coef_value=np.concatenate(values) if values else np.zeros(0),
        coef_start=np.array(starts, dtype=np.int64),
        intercept=np.array([float(detector.models[n].intercept_[0]) for n in names]),
        evidence_pattern=np.array([i for i, _ in evidence], dtype=np.int64),
        evidence_confidence=np.array([e.confidence for _, e in evidence], dtype=np.float64),
        evidence_positive=np.array([e.positive for _, e in evidence], dtype=np.bool_),
        evidence_weight=np.array([e.weight for _, e in evidence], dtype=np.float64))
    return buffer.getvalue()


def from_bytes(data: bytes) -> PatternDetector:
    """A detector from ``to_bytes`` output; ``ModelFormatError`` for anything else."""
    if data.startswith(LEGACY_PICKLE_MAGIC):
        raise ModelFormatError("this is a pattern model in the old pickle format, refused "
                               f"unread (a pickle can run code); {_RETRAIN}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        header = json.loads(arrays["header"].tobytes().decode())
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:
        raise ModelFormatError(f"not a pattern model ({exc}); {_RETRAIN}") from exc
    _check_header(header)
    try:
        return _detector_from(header, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFormatError(f"pattern model is damaged ({exc}); {_RETRAIN}") from exc


def _check_header(header: Any) -> None:
    if not isinstance(header, dict) or header.get("format") not in _FORMATS:
        found = header.get("format") if isinstance(header, dict) else None
        raise ModelFormatError(f"pattern model format {found!r} is not {FORMAT}; {_RETRAIN}")
    layout = (header.get("features", 1), header.get("width"))
    if header.get("patterns") != list(PATTERN_NAMES) or layout not in (
            (FEATURE_VERSION, feature_width()), (2, _v2_width())):
        raise ModelFormatError("the pattern list or the feature layout changed since this "
                               f"model was trained; {_RETRAIN}")
    saved = str(header.get("sklearn", "?"))
    if sklearn_series(saved) != sklearn_series():
        raise ModelFormatError(f"pattern model was trained with scikit-learn {saved}, this is "
                               f"{sklearn.__version__} (features may differ); {_RETRAIN}")


def _v2_width() -> int:
    """Feature version 2's width: words, characters, rules (no text vector)."""
    start, stop = vector_columns()
    return feature_width() - (stop - start)


def upgrade_v2(index: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Feature-version-2 column indices in this layout: the rule columns move right past
    the text vector's, the word and character columns stay."""
    start, stop = vector_columns()
    return np.where(index >= start, index + (stop - start), index)


def _detector_from(header: dict[str, Any], arrays: dict[str, Any]) -> PatternDetector:
    # A model stored before clause scoring had its thresholds tuned on whole texts alone.
    # Before the network, the text vector was read by the logistic head (or not at all).
    # Before learning at the threshold, its feedback steps were chosen for 0.5-centred
    # learning: it keeps learning that way (its stored steps, 32 / 300, were never
    # measured against the threshold).
    config = DetectorConfig(**{"clause_weight": 0.0, "vector_head": "logistic",
                               "learn_at_threshold": False, **header["config"]})
    width = feature_width()
    starts, index, value = arrays["coef_start"], arrays["coef_index"], arrays["coef_value"]
    if header.get("features", 1) == 2:
        index = upgrade_v2(np.asarray(index, dtype=np.int64))
    models = {}
    for k, name in enumerate(header["models"]):
        coef = np.zeros(width)
        lo, hi = int(starts[k]), int(starts[k + 1])
        coef[index[lo:hi]] = value[lo:hi]
        models[name] = linear_model(config, coef, float(arrays["intercept"][k]))
    calib_names = header["calibration_patterns"]
    calibration: dict[str, list[Evidence]] = {n: [] for n in calib_names}
    for i, c, p, w in zip(arrays["evidence_pattern"], arrays["evidence_confidence"],
                          arrays["evidence_positive"], arrays["evidence_weight"], strict=True):
        calibration[calib_names[int(i)]].append(Evidence(float(c), bool(p), float(w)))
    thresholds = {name: float(header["thresholds"][name]) for name in PATTERN_NAMES}
    head = from_arrays(arrays) if header.get("head", False) else None
    if head is not None:
        start, stop = vector_columns()
        if head.dims != stop - start or head.outputs != len(PATTERN_NAMES):
            raise ValueError(f"the network reads {head.dims} columns for {head.outputs} "
                             f"patterns, not {stop - start} for {len(PATTERN_NAMES)}")
    return PatternDetector(config=config, models=models, thresholds=thresholds,
                           calibration=calibration, head=head,
                           target_precision=float(header["target_precision"]))


def save(detector: PatternDetector, path: Path) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a model."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(to_bytes(detector))
    tmp.replace(path)


def load(path: Path) -> PatternDetector:
    return from_bytes(path.read_bytes())


def copy_of(detector: PatternDetector) -> PatternDetector:
    """An independent deep copy (for learning on the shared default detector)."""
    return from_bytes(to_bytes(detector))
