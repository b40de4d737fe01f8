"""Overlay directories: replace, fall through, add files, version, and fail per request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.errors import RenderError
from onexgen.generation.overlays import parse_manifest
from onexgen.generation.render import TEMPLATE_DIR, Renderer
from onexgen.models.wire import NodeType, ResultStatus
from onexgen.settings import Settings
from tests.unit.generation.conftest import make_request

MANIFEST = 'name = "acme"\nseries = "2.1.0"\n[files]\n"CHANGELOG.md" = "CHANGELOG.md.j2"\n'
CHANGELOG = "# Changelog of {{ class_name }}\n\n- {{ version }}: {{ description | md_text }}\n"


def _engine(*overlays: Path) -> Engine:
    return Engine(EngineConfig(template_dirs=overlays, composition=False,
                               template_recheck_s=0.0))


def _file(engine: Engine, path: str, node_type: str = "compute") -> str:
    result, _, _ = engine.generate(make_request(node_type, []))
    assert result.status is ResultStatus.SUCCEEDED, result.error
    return next(f.content for f in result.files if f.path == path)


def test_render_overlay_file_replaces_builtin_rest_falls_through(tmp_path: Path) -> None:
    readme = (TEMPLATE_DIR / "README.md.j2").read_text()
    (tmp_path / "README.md.j2").write_text(readme + "\nOwner: team {{ domain }}.\n")
    engine, plain = _engine(tmp_path), _engine()
    assert _file(engine, "README.md").endswith("Owner: team identity.\n")
    overlaid = _file(engine, "node.py").replace(engine.renderer.version, "V")
    assert overlaid == _file(plain, "node.py").replace(plain.renderer.version, "V")


def test_render_first_overlay_directory_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory, word in ((first, "first"), (second, "second")):
        directory.mkdir()
        (directory / "README.md.j2").write_text(f"{word}\n")
    assert _file(_engine(first, second), "README.md") == "first\n"


@pytest.mark.parametrize("node_type", [t.value for t in NodeType])
def test_render_manifest_adds_file_to_every_node_type(tmp_path: Path, node_type: str) -> None:
    (tmp_path / "overlay.toml").write_text(MANIFEST)
    (tmp_path / "CHANGELOG.md.j2").write_text(CHANGELOG)
    text = _file(_engine(tmp_path), "CHANGELOG.md", node_type)
    assert text.startswith("# Changelog of Node") and "1.0.0: Keeps users." in text


def test_version_overlay_names_series_and_changes_with_each_edit(tmp_path: Path) -> None:
    plain = Renderer().version
    renderer = Renderer(overlays=[tmp_path], recheck_s=0.0)
    assert renderer.version == plain  # an empty overlay changes nothing
    (tmp_path / "overlay.toml").write_text(MANIFEST)
    (tmp_path / "CHANGELOG.md.j2").write_text(CHANGELOG)
    first = renderer.version
    assert first.startswith("1.0.0+acme-2.1.0.") and first != plain
    (tmp_path / "CHANGELOG.md.j2").write_text(CHANGELOG + "edited\n")
    second = renderer.version
    assert second != first and second.startswith("1.0.0+acme-2.1.0.")
    shutil.rmtree(tmp_path)
    assert renderer.version == plain  # removed: the built-ins again


def test_produce_overlay_edit_misses_then_hits_output_cache(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    data = make_request("compute", []).model_dump(mode="json")
    request = make_request("compute", [])
    assert [engine.produce(data, request).hit for _ in range(2)] == [False, True]
    (tmp_path / "README.md.j2").write_text("edited {{ name }}\n")
    assert [engine.produce(data, request).hit for _ in range(2)] == [False, True]


BROKEN = {
    "syntax error": ("README.md.j2", "ok\n{% if %}\n", "README.md.j2 line 2"),
    "undefined variable": ("README.md.j2", "a\nb\n{{ owner }}\n", "README.md.j2 line 3: "
                           "'owner' is undefined"),
    "missing include": ("README.md.j2", '{% include "nope.j2" %}\n', "README.md.j2 line 1"),
}


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN.values(), ids=list(BROKEN))
def test_generate_broken_overlay_failed_result_names_file_and_line(
        tmp_path: Path, name: str, text: str, expected: str) -> None:
    (tmp_path / name).write_text(text)
    engine = _engine(tmp_path)  # construction survives the broken file
    result, _, cacheable = engine.generate(make_request("effect", []))
    assert result.status is ResultStatus.FAILED and not cacheable
    assert expected in (result.error or "") and str(tmp_path) in (result.error or "")


def test_generate_overlay_output_not_compiling_fails_syntax_naming_overlay(
        tmp_path: Path) -> None:
    (tmp_path / "init.py.j2").write_text("def broken(:\n")
    result, _, _ = _engine(tmp_path).generate(make_request("reducer", []))
    assert result.status is ResultStatus.FAILED and result.error_type == "syntax_error"
    assert "__init__.py:1" in (result.error or "")
    assert str(tmp_path / "init.py.j2") in (result.error or "")


def test_generate_overlay_breaking_contract_fails_syntax_stage(tmp_path: Path) -> None:
    (tmp_path / "contract.yaml.j2").write_text("- just a list\n")
    result, _, _ = _engine(tmp_path).generate(make_request("compute", []))
    assert result.status is ResultStatus.FAILED and result.error_type == "syntax_error"
    assert "contract.yaml.j2" in (result.error or "")


def test_generate_broken_manifest_failed_naming_manifest_line(tmp_path: Path) -> None:
    (tmp_path / "overlay.toml").write_text('name = "acme"\n[files\n')
    engine = _engine(tmp_path)
    assert "+overlay-broken." in engine.renderer.version
    result, _, _ = engine.generate(make_request("compute", []))
    assert result.status is ResultStatus.FAILED
    assert "overlay.toml" in (result.error or "") and "line 2" in (result.error or "")


@pytest.mark.parametrize(("files", "message"), [
    ('"node.py" = "x.j2"', "built-in file"), ('"../x" = "x.j2"', "relative"),
    ('"/etc/x" = "x.j2"', "relative"), ('"x.md" = "x.md"', ".j2 template")])
def test_parse_manifest_bad_file_entry_refused(files: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        parse_manifest(f"[files]\n{files}\n", "overlay.toml", reserved={"node.py"})


def test_generate_manifest_claiming_builtin_file_failed(tmp_path: Path) -> None:
    (tmp_path / "overlay.toml").write_text('[files]\n"node.py" = "mine.j2"\n')
    (tmp_path / "mine.j2").write_text("x = 1\n")
    result, _, _ = _engine(tmp_path).generate(make_request("compute", []))
    assert result.status is ResultStatus.FAILED and "'node.py' is a built-in file" in (
        result.error or "")


def test_settings_template_dirs_split_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    settings = Settings(template_dirs=f"{b}:{a}")
    assert settings.template_layers == (b.resolve(), a.resolve())


def test_settings_template_dirs_missing_directory_names_fix(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="onexgen templates export"):
        Settings(template_dirs=str(tmp_path / "missing"))
