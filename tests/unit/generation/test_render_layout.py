"""Work moved out of the templates gives what the templates computed themselves.

The layout booleans (``generation.layout``) decide each name-dependent line once per
request; the header comments are filtered once per request; names take the filters'
quoting fast path; the catalogue's text is filtered once per process. Each is checked
here against the general computation, at the boundaries where it changes.
"""

from __future__ import annotations

import pytest

from onexgen.generation import Renderer
from onexgen.generation.filters import (
    _KNOWN_MD,
    _KNOWN_YAML,
    _literal,
    md_text,
    precompute,
    pyrepr,
    yaml_str,
)
from onexgen.generation.layout import LINES, WIDTH, layout, operation_view
from onexgen.generation.render import TEMPLATE_DIR
from tests.unit.generation.conftest import make_request

RENDERER = Renderer(TEMPLATE_DIR)


def _file(request_name: str, path: str, **overrides: object) -> str:
    package = RENDERER.render(make_request("effect", [], name=request_name, **overrides))
    return next(f.content for f in package.files if f.path == path)


def test_layout_every_key_is_documented_in_lines() -> None:
    keys = layout(class_name="NodeAEffect", input_model="ModelAEffectInput",
                  output_model="ModelAEffectOutput", base_class="NodeEffect",
                  mixin_imports=["RetryMixin"], default_operation="run",
                  import_path="node_a_a_effect.v1_0_0")
    assert set(keys) == set(LINES)


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_render_node_import_wraps_exactly_past_88_columns(extra: int) -> None:
    """``from .node import Node<Name>Effect`` is 18 + 4 + len(name) + 6 columns."""
    name = "A" * (WIDTH - len("from .node import NodeEffect") + extra)
    init = _file(name, "__init__.py")
    one_line = f"from .node import Node{name}Effect\n"
    assert (one_line in init) is (extra <= 0)
    assert (f"from .node import (\n    Node{name}Effect,\n)\n" in init) is (extra > 0)


@pytest.mark.parametrize("length", [29, 30, 31, 35, 36, 37, 64])
def test_render_dispatch_call_wraps_as_its_operation_view_says(length: int) -> None:
    name = "x" * length
    node = _file("UserStore", "node.py", operations=[{"name": name, "description": ""}])
    view = operation_view(name, "")
    one_line = f"                result = await self.{name}(input_data, context)\n"
    assert (one_line in node) is view.call_fits
    assert ("                result = (\n" in node) is view.call_wrapped
    assert view.call_fits is (len(one_line) - 1 <= WIDTH)


def test_render_header_comments_same_in_every_python_file_and_wrapped() -> None:
    description = "Keeps users " * 20 + "# coding: latin-1"
    package = RENDERER.render(make_request("effect", [], description=description))
    headers = {f.path: [line for line in f.content.splitlines()[2:8] if line.startswith("#")]
               for f in package.files if f.path.endswith(".py")}
    assert len(set(map(tuple, headers.values()))) == 1
    lines = headers["node.py"]
    assert lines[0].startswith("# NodeUserStoreEffect: EFFECT node of domain identity")
    assert len(lines) > 3 and all(len(line) <= WIDTH for line in lines)
    assert all(line.startswith("#") for line in lines) and "coding:" not in "".join(lines)


@pytest.mark.parametrize("text", ["a", "run", "_private", "bench.store_1", "a.b.c", "x9"])
def test_filters_quote_names_as_the_general_path_does(text: str) -> None:
    assert str(yaml_str(text)) == str(pyrepr(text)) == f'"{text}"' == _literal(text)


@pytest.mark.parametrize("text", ['Says "hi" & <b>bye</b>: yes', "été\u2028[x](y)", "", "no"])
def test_precompute_answers_known_text_as_filtering_it_would(text: str) -> None:
    expected = (str(yaml_str(text)), str(md_text(text)))
    precompute([text])
    try:
        assert text in _KNOWN_YAML and text in _KNOWN_MD
        assert (str(yaml_str(text)), str(md_text(text))) == expected
    finally:
        _KNOWN_YAML.pop(text, None)
        _KNOWN_MD.pop(text, None)
