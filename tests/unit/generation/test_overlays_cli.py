"""``onexgen templates`` and ``onexgen generate --templates``, and the documented context."""

from __future__ import annotations

from pathlib import Path

import pytest

from onexgen.cli.main import main
from onexgen.generation.render import Renderer
from onexgen.generation.template_context import VARIABLES
from onexgen.generation.template_tools import mixin_spread, sample_requests
from onexgen.models.wire import NodeType
from tests.unit.generation.conftest import make_request

FORGETS = "# {{ class_name }}\n\n{{ description }}\n"


def test_templates_list_names_layer_of_each_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md.j2").write_text("x\n")
    assert main(["templates", "list", str(tmp_path)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["README.md.j2"] == f"overlay {tmp_path.resolve()}"
    assert lines["node_base.py.j2"] == "built-in"


def test_templates_export_then_diff_shows_only_edits(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "export", str(tmp_path)]) == 0
    assert main(["templates", "diff", "--exit-code", str(tmp_path)]) == 0
    readme = tmp_path / "README.md.j2"
    readme.write_text(readme.read_text() + "Owner: me\n")
    capsys.readouterr()
    assert main(["templates", "diff", "--exit-code", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "+Owner: me" in out and "overlay/README.md.j2" in out and "node_base" not in out


def test_templates_export_over_existing_files_refused_names_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "export", str(tmp_path)]) == 0
    assert main(["templates", "export", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err


def test_templates_check_forgotten_filter_fails_naming_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md.j2").write_text(FORGETS)
    assert main(["templates", "check", "--no-compose", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path.resolve() / 'README.md.j2'} line 3" in out and "unfiltered" in out
    assert "of 38 sample requests" in out


def test_templates_check_builtins_copy_passes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "export", str(tmp_path)]) == 0
    assert main(["templates", "check", "--no-compose", str(tmp_path)]) == 0
    assert "38 of 38" in capsys.readouterr().out


def test_mixin_spread_covers_every_accepted_mixin_in_valid_sets() -> None:
    from onex_runtime import MIXINS
    from onex_runtime.catalog import check_composition

    for node_type in NodeType:
        sets = mixin_spread(node_type)
        accepted = {m for m in MIXINS if not check_composition(node_type.value, [m])}
        assert sets[0] == [] and {m for s in sets for m in s} == accepted
        assert all(not check_composition(node_type.value, s) for s in sets)
    assert {r.node_type for r in sample_requests()} == set(NodeType)


def test_generate_templates_option_uses_overlay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "README.md.j2").write_text("Owned by {{ domain }}\n")
    request = tmp_path / "r.json"
    request.write_text('{"node_type": "compute", "name": "A", "domain": "d"}')
    assert main(["generate", str(request), "--templates", str(overlay), "--no-check",
                 "--out", str(tmp_path / "out")]) == 0
    (readme,) = (tmp_path / "out").rglob("README.md")
    assert readme.read_text() == "Owned by d\n"


def test_generate_broken_overlay_exits_2_naming_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md.j2").write_text("{{ owner }}\n")
    request = tmp_path / "r.json"
    request.write_text('{"node_type": "compute", "name": "A", "domain": "d"}')
    assert main(["generate", str(request), "--templates", str(tmp_path), "--dry-run",
                 "--no-check"]) == 2
    assert "README.md.j2 line 1: 'owner' is undefined" in capsys.readouterr().err


def test_documented_variables_are_exactly_the_context() -> None:
    context = Renderer().context(make_request("effect", ["EventBus"]))
    assert set(VARIABLES) == set(context) | {"patterns"}
