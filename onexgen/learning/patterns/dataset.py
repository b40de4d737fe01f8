"""Labeled requests: a ``GenerationRequest`` plus the patterns a person says it has.

One JSON line per request, the request's own fields plus ``expected_patterns``.
The loader validates both halves and reports a bad line with its number, so a
typo in the evaluation set is found at load time, not as a silent wrong figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import orjson
from pydantic import ValidationError

from onexgen.learning.patterns.errors import DatasetError, UnknownPatternError
from onexgen.learning.patterns.library import check_pattern
from onexgen.models.wire import GenerationRequest

_DATA = resources.files("onexgen.learning.patterns") / "data"
TRAIN_PATH = Path(str(_DATA / "train.jsonl"))
"""The original author's labelled set (issue 5), shipped in the wheel; part of training."""
CORPUS_TRAIN_PATH = Path(str(_DATA / "corpus_train.jsonl"))
"""A copy of ``data/patterns/corpus/train.jsonl`` (writers w1, w2, w4): model weights."""
CORPUS_VALIDATION_PATH = Path(str(_DATA / "corpus_validation.jsonl"))
"""A copy of ``data/patterns/corpus/validation.jsonl`` (writer w5): per-pattern thresholds.
The corpus's frozen test split is never shipped nor read by training."""
DEFAULT_MODEL_PATH = Path(str(_DATA / "default_model.npz"))
"""The shipped default detector (``persist`` format, no pickle), built by
``onexgen patterns train --out`` this path from the three files above."""


@dataclass(frozen=True, slots=True)
class LabeledRequest:
    request: GenerationRequest
    expected: frozenset[str]
    annotations: tuple[tuple[str, frozenset[str]], ...] = ()
    """Each annotator's own labels (``(name, labels)``), where the corpus records them."""
    writer: str = ""
    """Who wrote the request (the corpus's ``writer``; empty elsewhere): the groups of
    leave-one-writer-out cross-validation (``crossval``)."""

_CORPUS_FIELDS = ("style", "writer")
"""Descriptive fields of the corpus lines; not part of a request."""


def parse_request(line: bytes | str) -> GenerationRequest:
    """One JSON line -> a request; extra ``expected_patterns`` is ignored here."""
    data = orjson.loads(line)
    if not isinstance(data, dict):
        raise ValueError("a request line must be a JSON object")
    for key in ("expected_patterns", "annotations", *_CORPUS_FIELDS):
        data.pop(key, None)
    return GenerationRequest.model_validate(data)


def parse_labeled(line: bytes | str) -> LabeledRequest:
    data = orjson.loads(line)
    if not isinstance(data, dict):
        raise ValueError("a labeled line must be a JSON object")
    expected = data.pop("expected_patterns", None)
    if not isinstance(expected, list) or not all(isinstance(p, str) for p in expected):
        raise ValueError('missing "expected_patterns": give a list of pattern names, [] for none')
    labels = frozenset(check_pattern(p) for p in expected)
    raw_annotations = data.pop("annotations", None) or {}
    if not isinstance(raw_annotations, dict):
        raise ValueError('"annotations" must map an annotator to a list of pattern names')
    annotations = tuple(sorted((str(who), frozenset(check_pattern(p) for p in given))
                               for who, given in raw_annotations.items()))
    writer = str(data.pop("writer", "") or "")
    for key in _CORPUS_FIELDS:
        data.pop(key, None)
    return LabeledRequest(GenerationRequest.model_validate(data), labels, annotations, writer)


def describe_error(exc: Exception) -> str:
    """One line for a bad line: the first validation problem, or the JSON error."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        return f"{where}: {first['msg']}"
    if isinstance(exc, orjson.JSONDecodeError):
        return f"not valid JSON ({exc})"
    return str(exc)


def iter_labeled(lines: Iterable[bytes | str], source: str = "<input>") -> Iterator[LabeledRequest]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_labeled(line)
        except (ValueError, UnknownPatternError) as exc:
            raise DatasetError(source, number, describe_error(exc)) from exc


def load_labeled(path: Path) -> list[LabeledRequest]:
    """All labeled requests of a JSON-lines file; ``DatasetError`` names the bad line."""
    with path.open("rb") as stream:
        return list(iter_labeled(stream, str(path)))
