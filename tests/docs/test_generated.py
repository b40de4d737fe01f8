"""The generated reference pages match the code, and every runnable block is marked."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.docs.blocks import ROOT, all_blocks


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_generate", module)
    spec.loader.exec_module(module)
    return module


def test_generated_reference_pages_are_up_to_date() -> None:
    pages = generator().render_all()
    stale = [name for name, content in pages.items()
             if not (ROOT / "docs" / "reference" / name).is_file()
             or (ROOT / "docs" / "reference" / name).read_text() != content]
    assert not stale, (f"docs/reference/{', '.join(stale)} stale: run "
                       "`.venv/bin/python docs/generate.py` and commit the result")


def test_cli_reference_covers_every_command() -> None:
    gen = generator()
    text = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for path in gen.commands():
        assert f"## `{' '.join(['onexgen', *path])}`" in text


def test_message_reference_covers_every_wire_model() -> None:
    from onexgen.models.wire import WIRE_MODELS

    text = (ROOT / "docs" / "reference" / "messages.md").read_text()
    assert all(f"## `{name}`" in text for name in WIRE_MODELS)


def test_configuration_reference_lists_every_setting() -> None:
    from onexgen.settings import Settings

    text = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    assert all(f"`ONEXGEN_{name.upper()}`" in text for name in Settings.model_fields)


def test_every_command_block_in_the_docs_is_marked_run_or_skip() -> None:
    unmarked = [b.where for b in all_blocks() if b.needs_marker and b.marker is None]
    assert not unmarked, f"mark these blocks <!-- doctest: run --> or skip (reason): {unmarked}"
    assert all(b.reason for b in all_blocks() if b.marker == "skip"), "a skip says why"


def test_docs_link_to_existing_files() -> None:
    import re

    missing = []
    for path in [ROOT / "README.md", *Path(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)\)", path.read_text()):
            if not (path.parent / target).exists():
                missing.append(f"{path.name}: {target}")
    assert not missing, missing
