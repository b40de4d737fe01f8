"""Saving and loading a detector as bytes (a file, or a model-version row in Postgres).

Format: an 8-byte magic naming the format version, then a pickle of the
detector's state (scikit-learn models pickle; there is no other portable form
for them). Loading runs pickle, which can execute code: only load bytes this
system wrote (our files, our database), never bytes from a request or a topic.
The magic turns "wrong file" and "old format" into a ``ModelFormatError`` that
says to retrain, instead of an obscure unpickling error.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.errors import ModelFormatError

MAGIC = b"ONXPAT01"


def to_bytes(detector: PatternDetector) -> bytes:
    state = {"config": detector.config, "models": detector.models,
             "thresholds": detector.thresholds, "calibration": detector.calibration}
    return MAGIC + pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def from_bytes(data: bytes) -> PatternDetector:
    if not data.startswith(MAGIC):
        raise ModelFormatError("not a pattern model of this version; retrain it with "
                               "`onexgen patterns train --out PATH`")
    try:
        # S301: the bytes are our own model files / rows, never user input (see module doc)
        state = pickle.loads(data[len(MAGIC):])  # noqa: S301
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ModelFormatError(f"pattern model is damaged ({exc}); retrain it with "
                               "`onexgen patterns train --out PATH`") from exc
    return PatternDetector(config=state["config"], models=state["models"],
                           thresholds=state["thresholds"], calibration=state["calibration"])


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
