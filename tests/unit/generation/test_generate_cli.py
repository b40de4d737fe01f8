"""``onexgen generate``: write, dry-run and diff a package locally; bad input exits 2."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from onexgen.cli import generate

REQUEST = {"request_id": "cli-1", "node_type": "compute", "name": "PriceCalculator",
           "domain": "billing", "description": "Prices a cart.", "mixins": ["Validation"]}
PACKAGE = "node_billing_price_calculator_compute/v1_0_0"


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    generate.register(parser.add_subparsers())
    args = parser.parse_args(["generate", *argv])
    return int(args.handler(args))


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST))
    return path


def test_generate_dry_run_lists_hashes_and_writes_nothing(
    request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(str(request_file), "--dry-run", "--no-check") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and all(len(line.split("  ")[0]) == 64 for line in lines)
    assert f"{PACKAGE}/node.py" in {line.split("  ")[1] for line in lines}
    assert not (tmp_path / "node_billing_price_calculator_compute").exists()


def test_generate_out_writes_package_with_listed_hashes(
    request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(str(request_file), "--out", str(out), "--dry-run") == 0
    listed: dict[str, str] = {}
    for line in capsys.readouterr().out.splitlines():
        if "  " in line:
            digest, rel = line.split("  ")
            listed[rel] = digest
    assert len(listed) == 6
    for rel, digest in listed.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


def test_generate_diff_unchanged_then_edited_package_shows_unified_diff(
    request_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(str(request_file), "--out", str(out), "--no-check") == 0
    assert _run(str(request_file), "--diff", str(out), "--no-check") == 0
    assert "no differences" in capsys.readouterr().out
    readme = out / PACKAGE / "README.md"
    readme.write_text(readme.read_text().replace("PriceCalculator", "OldName", 1))
    assert _run(str(request_file), "--diff", str(out / PACKAGE), "--no-check") == 1
    diff = capsys.readouterr().out
    assert "--- a/README.md" in diff and "-" in diff and "+" in diff and "OldName" in diff


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "not an object"),
    (json.dumps({**REQUEST, "node_type": "widget", "name": "1bad"}),
     "node_type: Input should be"),
    # the mixin gate answers first, as in the worker (ONEXGEN_MIXIN_POLICY=reject)
    (json.dumps({**REQUEST, "mixins": ["Caching"]}), "responsible: Caching; [Caching] Caching "
     "cannot be used on a COMPUTE node"),
])
def test_generate_bad_input_one_line_naming_fix_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "request.json"
    if content is not None:
        path.write_text(content)
    assert _run(str(path), "--dry-run") == 2
    err = capsys.readouterr().err
    assert err.startswith("onexgen: ") and message in err and err.count("\n") == 1


def test_generate_without_action_asks_for_one(
    request_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(str(request_file)) == 2
    assert "--out DIR, --dry-run or --diff DIR" in capsys.readouterr().err


def test_engine_config_of_cli_equals_the_workers_pool_config() -> None:
    """Same detection, same mixin gate, same templates: the CLI's engine is the worker's."""
    from onexgen.agents.runtime import WorkerRuntime
    from onexgen.generation.engine import engine_config
    from onexgen.settings import Settings

    settings = Settings(mixin_policy="auto_resolve", mixin_threshold=0.7)
    worker = WorkerRuntime(settings)
    assert engine_config(settings) == worker.pool.config
    assert worker.pool.config.detect_patterns and worker.pool.config.mixin_policy == "auto_resolve"


def test_generate_request_the_schema_refuses_names_the_field_not_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({**REQUEST, "operations": [{"name": f"op_{i}"} for i in range(51)]}))
    assert _run(str(path), "--dry-run", "--no-check") == generate.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "is not a valid request" in err and "operations" in err
    assert "configuration error" not in err
