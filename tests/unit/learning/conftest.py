"""Shared helpers: requests from plain text, and one trained detector per session."""

from __future__ import annotations

import functools

import pytest

from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.training import default_detector
from onexgen.models.wire import GenerationRequest


def make_request(description: str = "", ops: list[tuple[str, str]] | None = None,
                 rid: str = "t-1") -> GenerationRequest:
    return GenerationRequest(
        request_id=rid, node_type="effect", name="Thing", domain="test",
        description=description,
        operations=[{"name": n, "description": d} for n, d in (ops or [])],
    )


@pytest.fixture(scope="session")
def trained() -> PatternDetector:
    """The shipped default detector; do not mutate."""
    return default_detector()


def as_feature_version_2(data: bytes) -> tuple[bytes, PatternDetector]:
    """A model's bytes as a feature-version-2 row would hold them (no text-vector columns,
    rules right after the characters), and the detector those bytes must score like: the
    model with zero weights on the text vector."""
    import io
    import json
    from dataclasses import replace

    import numpy as np

    from onexgen.learning.patterns.features import feature_width, vector_columns
    from onexgen.learning.patterns.persist import from_bytes

    start, stop = vector_columns()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    index, value, starts = arrays["coef_index"], arrays["coef_value"], arrays["coef_start"]
    keep = (index < start) | (index >= stop)
    arrays["coef_index"] = np.where(index >= stop, index - (stop - start), index)[keep]
    arrays["coef_value"] = value[keep]
    arrays["coef_start"] = np.concatenate([[0], np.cumsum(keep)[starts[1:] - 1]])
    header = json.loads(arrays["header"].tobytes().decode())
    header.update(features=2, width=feature_width() - (stop - start))
    header["config"].pop("clause_weight", None)  # rows of version 2 predate clause scoring
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    expected = from_bytes(data)
    expected.config = replace(expected.config, clause_weight=0.0)
    for model in expected.models.values():
        model.coef_[0, start:stop] = 0.0
    return buffer.getvalue(), expected


@pytest.fixture(scope="session")
def logistic_trained() -> PatternDetector:
    """``logistic_detector()``; do not mutate."""
    return logistic_detector()


@functools.lru_cache(maxsize=1)
def logistic_detector() -> PatternDetector:
    """A detector of the recipe before the MLP head (text vector read by a logistic head in
    the linear model's columns), fitted on part of the shipped train split; do not mutate."""
    from onexgen.learning.patterns.config import DetectorConfig
    from onexgen.learning.patterns.dataset import CORPUS_TRAIN_PATH, load_labeled

    rows = load_labeled(CORPUS_TRAIN_PATH)[:400]
    return PatternDetector(DetectorConfig(vector_head="logistic")).fit(
        [r.request for r in rows], [r.expected for r in rows])


def as_format_2(data: bytes) -> bytes:
    """A logistic-head model's bytes as a format-2 row (stored before the MLP head) holds
    them: that format, no ``head`` flag, no network settings in its config."""
    import io
    import json

    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes().decode())
    assert not header.pop("head") and not any(k.startswith("head_") for k in arrays)
    header["format"] = "onexgen-patterns/2"
    header["config"] = {k: v for k, v in header["config"].items()
                        if k != "vector_head" and not k.startswith("mlp_")}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()
