"""``onexgen mixins`` as a user runs it (no database: ``--no-db``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from onexgen.cli import mixins
from onexgen.cli.main import Parser
from onexgen.learning.mixins import gate
from onexgen.learning.mixins.model import CompatibilityModel


def _run(argv: list[str]) -> int:
    parser = Parser(prog="onexgen")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    mixins.register(sub)
    args: argparse.Namespace = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture(autouse=True)
def _installed(trained: CompatibilityModel) -> Any:
    gate.install_model(trained)
    yield
    gate.install_model(trained)


def test_predict_conflict_prints_score_conflict_and_verified_suggestion(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mixins", "predict", "--no-db", "--node-type", "EFFECT", "Retry",
                 "Synchronous"]) == 0
    out = capsys.readouterr().out
    assert "decision    reject" in out and "conflict    [Retry + Synchronous]" in out
    assert "(verified)" in out


def test_predict_json_auto_resolve_gives_resolved_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mixins", "predict", "--no-db", "--json", "--policy", "auto_resolve",
                 "--node-type", "compute", "Caching", "Metrics"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "auto_resolved" and data["mixins"] == ["Metrics"]


def test_predict_threshold_out_of_range_exits_2_naming_fix(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _run(["mixins", "predict", "--node-type", "effect", "--threshold", "1.5"])
    assert info.value.code == 2 and "give e.g. 0.5" in capsys.readouterr().err


def test_eval_small_run_json_has_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mixins", "eval", "--per-type", "150", "--subprocess-sample", "0",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("held_out", "held_out_data_only", "static_catalogue", "learning_curve",
                "predict_us_per_combination_batched", "update_ms_per_batch_median"):
        assert key in data
    assert data["held_out"]["accuracy"] >= 0.9


def test_eval_too_few_sets_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mixins", "eval", "--per-type", "3"]) == 2
    assert "at least 10" in capsys.readouterr().err


def test_train_no_db_measures_and_stores_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mixins", "train", "--no-db", "--per-type", "150"]) == 0
    out = capsys.readouterr().out
    assert "held-out" in out and "stored as" not in out
