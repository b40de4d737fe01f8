"""The independent pattern corpus: frozen splits unchanged, shipped copies identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from onexgen.learning.patterns.dataset import CORPUS_TRAIN_PATH, CORPUS_VALIDATION_PATH

CORPUS = Path(__file__).resolve().parents[3] / "data" / "patterns" / "corpus"


def _recorded() -> dict[str, str]:
    lines = (CORPUS / "SPLITS.sha256").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


@pytest.mark.parametrize("name", ["train.jsonl", "validation.jsonl", "test.jsonl"])
def test_frozen_split_sha256_matches_recorded_digest(name: str) -> None:
    recorded = _recorded()
    assert name in recorded, f"SPLITS.sha256 has no digest for {name}"
    assert hashlib.sha256((CORPUS / name).read_bytes()).hexdigest() == recorded[name], (
        f"{name} changed after it was frozen; restore it with git checkout")


@pytest.mark.parametrize(("shipped", "source"), [(CORPUS_TRAIN_PATH, "train.jsonl"),
                                                 (CORPUS_VALIDATION_PATH, "validation.jsonl")])
def test_shipped_training_copies_equal_corpus_splits(shipped: Path, source: str) -> None:
    assert shipped.read_bytes() == (CORPUS / source).read_bytes(), (
        f"copy data/patterns/corpus/{source} to {shipped}")


def test_no_test_split_shipped_in_the_package() -> None:
    assert not any("test" in p.name for p in CORPUS_TRAIN_PATH.parent.iterdir())
