"""``onexgen patterns detect|eval|train`` on small files, through the real parser."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from onexgen.cli import patterns
from onexgen.models.wire import GenerationRequest

GOOD = {"request_id": "c-1", "node_type": "effect", "name": "Mailer", "domain": "mail",
        "description": "Sends a welcome e-mail to new users.", "operations": []}


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="onexgen")
    patterns.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_detect_good_and_bad_lines_reports_bad_line_and_exits_one(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(GOOD), "{not json", json.dumps({**GOOD, "request_id": "c-2"})]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode())))
    code = run(["patterns", "detect"])
    out, err = capsys.readouterr()
    results = [json.loads(x) for x in out.splitlines()]
    assert code == 1
    assert [r["request_id"] for r in results] == ["c-1", "c-2"]
    assert results[0]["patterns"][0]["name"] == "notification"
    assert 0 < results[0]["patterns"][0]["confidence"] <= 1
    assert err.count("\n") == 1 and "line 2" in err


def test_eval_small_file_prints_per_pattern_and_overall(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({**GOOD, "expected_patterns": ["notification"]}) + "\n")
    assert run(["patterns", "eval", str(path)]) == 0
    out = capsys.readouterr().out
    assert "notification" in out and "micro-average" in out and "fpr" in out


def test_eval_json_flag_gives_figures(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({**GOOD, "expected_patterns": ["notification"]}) + "\n")
    assert run(["patterns", "eval", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["tp"] == 1
    assert data["per_pattern"]["notification"]["precision"] == 1.0


def test_eval_unknown_pattern_one_line_error_exit_two(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({**GOOD, "expected_patterns": ["teleport"]}) + "\n")
    assert run(["patterns", "eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ":1:" in err and "crud" in err


def test_train_small_file_writes_loadable_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from onexgen.learning.patterns.dataset import TRAIN_PATH
    from onexgen.learning.patterns.persist import load

    out = tmp_path / "m.model"
    assert run(["patterns", "train", "--data", str(TRAIN_PATH), "--out", str(out)]) == 0
    assert load(out).detect_many([]) == []
    assert "model written" in capsys.readouterr().out


def test_eval_reports_exact_set_and_kappa_per_annotator(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "set.jsonl"
    lines = [{**GOOD, "request_id": "k-1", "expected_patterns": ["notification"],
              "annotations": {"A": ["notification"], "B": ["notification"]}},
             {**GOOD, "request_id": "k-2", "description": "Stores nothing, sends nothing.",
              "expected_patterns": [], "annotations": {"A": [], "B": ["notification"]}}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert run(["patterns", "eval", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact_set"] == 1.0
    assert data["kappa"]["A vs B"]["notification"] == 0.0
    assert data["kappa"]["detector vs adjudicated"]["notification"] == 1.0


def test_train_with_validation_file_writes_loadable_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from onexgen.learning.patterns.dataset import CORPUS_VALIDATION_PATH, TRAIN_PATH
    from onexgen.learning.patterns.persist import load

    out = tmp_path / "m.npz"
    assert run(["patterns", "train", "--data", str(TRAIN_PATH), "--validation",
                str(CORPUS_VALIDATION_PATH), "--out", str(out)]) == 0
    assert "thresholds from" in capsys.readouterr().out
    assert load(out).detect(patterns_request())


def test_train_validation_without_data_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["patterns", "train", "--validation", "x.jsonl"]) == 2
    assert "--validation needs --data" in capsys.readouterr().err


def patterns_request() -> GenerationRequest:
    return GenerationRequest.model_validate(GOOD)
