"""``bench.bench_pairs``: variants are settings, and a bad one is refused in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.bench_pairs import SPACING, WorkerSpec, parse_variant


def test_a_variant_is_its_settings() -> None:
    assert parse_variant("ONEXGEN_BATCH_SIZE=50  ONEXGEN_EVENT_LOOP=asyncio") == WorkerSpec({
        "ONEXGEN_BATCH_SIZE": "50", "ONEXGEN_EVENT_LOOP": "asyncio"})
    assert parse_variant("") == WorkerSpec({})


def test_a_variant_may_name_its_interpreter() -> None:
    spec = parse_variant(f"python={sys.executable} ONEXGEN_BATCH_SIZE=20")
    assert spec == WorkerSpec({"ONEXGEN_BATCH_SIZE": "20"}, sys.executable)


def test_an_interpreter_that_is_not_there_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-python"
    with pytest.raises(ValueError, match="no executable there; give a venv's interpreter"):
        parse_variant(f"python={missing}")


def test_a_variant_may_name_a_checkout_to_run() -> None:
    from tests.harness import ROOT as REPO_ROOT

    spec = parse_variant(f"code={REPO_ROOT} ONEXGEN_BATCH_SIZE=20")
    assert spec == WorkerSpec({"ONEXGEN_BATCH_SIZE": "20"}, None, REPO_ROOT)


def test_a_checkout_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no onexgen checkout there; make one with git worktree"):
        parse_variant(f"code={tmp_path}")


@pytest.mark.parametrize("text", ["BATCH_SIZE=50", "ONEXGEN_BATCH_SIZE", "ONEXGEN_BATCH_SIZE="])
def test_a_part_that_is_not_a_setting_is_named(text: str) -> None:
    with pytest.raises(ValueError, match=f"{text!r} is not a setting: write ONEXGEN_NAME=value"):
        parse_variant(text)


def test_the_cli_refuses_a_bad_variant_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from bench import bench_pairs

    monkeypatch.setattr(sys, "argv", ["bench_pairs", "--variant", "batch=50", "--variant", ""])
    with pytest.raises(SystemExit) as exit_info:
        bench_pairs.main()
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--variant 'batch=50'" in last and "ONEXGEN_NAME=value" in last


def test_variants_see_the_same_mix_of_requests() -> None:
    from bench.bench_e2e import request_bytes

    def shape(i: int) -> tuple[object, ...]:
        import orjson

        body = orjson.loads(request_bytes("t", i))
        return (body["node_type"], tuple(body["mixins"]), body["operations"][1]["name"])

    assert all(shape(i) == shape(i + SPACING) for i in range(200))
