"""The independent pattern corpus: frozen splits unchanged, shipped copies identical."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from onexgen.learning.patterns.dataset import CORPUS_TRAIN_PATH, CORPUS_VALIDATION_PATH

CORPUS = Path(__file__).resolve().parents[3] / "data" / "patterns" / "corpus"


def _recorded() -> dict[str, str]:
    lines = (CORPUS / "SPLITS.sha256").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


@pytest.mark.parametrize("name", ["train.jsonl", "validation.jsonl", "test.jsonl",
                                  "unseen.jsonl"])
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
    assert not any("test" in p.name or "unseen" in p.name
                   for p in CORPUS_TRAIN_PATH.parent.iterdir())


def test_corpus_splits_unseen_writers_form_their_own_split_never_train(
        tmp_path: Path) -> None:
    build = _build_module()
    (tmp_path / "w12.jsonl").write_text("")
    (tmp_path / "w12.by-L12.jsonl").write_text("")
    splits = build.splits(tmp_path)
    assert splits["unseen"] == ("w12",)
    assert "w12" not in splits["train"] + splits["validation"] + splits["test"]


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_build", CORPUS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_splits_late_writer_joins_train_only_with_both_annotation_files(
        tmp_path: Path) -> None:
    build = _build_module()
    frozen = {"validation": ("w5",), "test": ("w3", "w6")}
    assert build.splits(tmp_path) == {"train": ("w1", "w2", "w4"), **frozen}
    (tmp_path / "w7.jsonl").write_text("")
    assert build.splits(tmp_path)["train"] == ("w1", "w2", "w4")  # not labelled blind yet
    (tmp_path / "w7.by-L7.jsonl").write_text("")
    (tmp_path / "w8.by-L8.jsonl").write_text("")
    assert build.splits(tmp_path) == {"train": ("w1", "w2", "w4", "w7"), **frozen}


def test_corpus_build_late_writer_disagreement_without_adjudication_stops(
        tmp_path: Path) -> None:
    build = _build_module()
    for name in ("w1", "w2", "w3", "w4", "w5", "w6"):
        (tmp_path / f"{name}.jsonl").write_text("")
        (tmp_path / f"{name}.by-L{name[1:]}.jsonl").write_text("")
    (tmp_path / "adjudicated.jsonl").write_text("")
    request = {"id": "w7-0001", "node_type": "effect", "name": "NoteStore", "domain": "notes",
               "description": "Stores and deletes notes.", "operations": []}
    (tmp_path / "w7.jsonl").write_text(json.dumps({**request, "labels": ["crud"]}) + "\n")
    (tmp_path / "w7.by-L7.jsonl").write_text(json.dumps({"id": "w7-0001", "labels": []}) + "\n")
    with pytest.raises(SystemExit, match="adjudicate"):
        build.build(tmp_path)
    (tmp_path / "adjudicated.jsonl").write_text(
        json.dumps({"id": "w7-0001", "labels": ["crud"], "reason": "store + delete"}) + "\n")
    rows = build.build(tmp_path)["train"]
    assert [(r["request_id"], r["expected_patterns"], r["writer"]) for r in rows] == [
        ("w7-0001", ["crud"], "w7")]
