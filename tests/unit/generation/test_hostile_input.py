"""Hostile text never changes the shape of generated code, only the literals' values."""

from __future__ import annotations

import ast
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from onexgen.generation import InvalidOperationError, render_package
from onexgen.generation.filters import md_text, pycomment, pyrepr, yaml_str
from onexgen.models.wire import GenerationRequest

HOSTILE = ['"', "'", '"""', "'''", "\\", "\\n", "\n", "\r", "\r\n", "#", "{{", "}}", "{%", "%}",
           "{#", "\u2028", "\u2029", "\x00", "\x0b", "\x0c", "\x85", "\U0001f600",
           "__import__('os').system('id')", "\"); import os; #", "# -*- coding: rot13 -*-",
           "${x}", "<script>", "-->", "yes", "~", ": ", "- ", "&a", "*a", "!!python/object"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)),
                        max_size=8).map("".join)


Text = st.SearchStrategy[str]


def _mostly(valid: Text, hostile: Text) -> Text:
    """Valid identifiers 9 times in 10, so most examples get as far as rendering."""
    return st.integers(0, 9).flatmap(lambda i: hostile if i == 0 else valid)


names = _mostly(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True),
                st.one_of(st.sampled_from(HOSTILE), hostile_text))
snake = _mostly(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), st.sampled_from(HOSTILE))


def _shape(source: str) -> str:
    """``ast.dump`` with every string constant's value blanked out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "S"
    return ast.dump(tree)


def _request(data: dict[str, Any]) -> GenerationRequest | None:
    try:
        return GenerationRequest.model_validate(data)
    except ValidationError as exc:
        assert exc.errors() and all(e["msg"] for e in exc.errors())
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, domain=snake, ops=st.lists(st.tuples(snake, hostile_text), max_size=3),
       description=hostile_text, node_type=st.sampled_from(["effect", "compute", "reducer",
                                                            "orchestrator"]))
def test_render_hostile_text_rejected_or_same_code_shape_as_benign(
    name: str, domain: str, ops: list[tuple[str, str]], description: str, node_type: str
) -> None:
    data: dict[str, Any] = {"request_id": "r1", "node_type": node_type, "name": name,
                            "domain": domain, "description": description[:2000],
                            "operations": [{"name": n, "description": d[:500]} for n, d in ops],
                            "mixins": ["Metrics", "LogData"]}
    hostile = _request(data)
    event("rejected by the request model" if hostile is None else "accepted by the model")
    if hostile is None:
        return
    benign = GenerationRequest.model_validate({
        **data, "description": "benign",
        "operations": [{"name": n, "description": "benign"} for n, _ in ops]})
    try:
        rendered = render_package(hostile)
    except InvalidOperationError as exc:
        assert "rename" in str(exc) or "listed twice" in str(exc)
        return
    event("rendered")
    expected = {f.path: f.content for f in render_package(benign).files}
    for item in rendered.files:
        if item.path.endswith(".py"):
            assert _shape(item.content) == _shape(expected[item.path]), item.path
        elif item.path == "README.md":
            assert item.content.count("\n") == expected["README.md"].count("\n")
    node = ast.parse(next(f.content for f in rendered.files if f.path == "node.py"))
    classes = [n for n in node.body if isinstance(n, ast.ClassDef)]
    assert [c.name for c in classes] == [rendered.class_name]
    methods = [f.name for f in classes[0].body if isinstance(f, ast.AsyncFunctionDef)]
    ops_expected = [(o.name, o.description) for o in hostile.operations] or [
        ("run", "Run the node's default operation.")]
    assert methods[1:] == [n for n, _ in ops_expected]
    contract = yaml.safe_load(next(f.content for f in rendered.files if f.path == "contract.yaml"))
    assert contract["description"] == hostile.description
    key = "io_operations" if node_type == "effect" else "operations"
    assert [(o["name"], o["description"]) for o in contract[key]] == ops_expected


def test_request_model_lone_surrogate_description_rejected_with_reason() -> None:
    with pytest.raises(ValidationError, match="unicode"):
        GenerationRequest.model_validate({"request_id": "r1", "node_type": "effect",
                                          "name": "A", "domain": "a", "description": "x\ud800"})


@given(st.text())
def test_yaml_str_any_text_loads_back_unchanged(text: str) -> None:
    assert yaml.safe_load(yaml_str(text)) == text


@given(hostile_text)
def test_pyrepr_any_text_is_one_line_literal_of_same_value(text: str) -> None:
    literal = pyrepr(text)
    assert "\n" not in literal and ast.literal_eval(literal) == text


@given(hostile_text)
def test_pycomment_and_md_text_any_text_stay_on_one_printable_line(text: str) -> None:
    for out in (pycomment(text), md_text(text)):
        assert out.isprintable() or out == ""
        assert len(out.splitlines()) <= 1
    assert "coding:" not in pycomment(text).lower()


@given(st.one_of(hostile_text, st.text(alphabet="coding:=CODING \\`*_[]!|#~&<>ab")))
def test_pycomment_and_md_text_match_their_regular_expression_versions(text: str) -> None:
    """The fast paths (a cookie needs ':' or '='; markup escaped by ``str.translate``)
    give what the first versions gave: one ``re.sub`` each over the cleaned line."""
    import re

    from onexgen.generation.confusables import unconfused
    from onexgen.generation.filters import _COMMENT_MAX, _printable_line

    line = re.sub(r"coding[:=]", "coding -", _printable_line(text), flags=re.IGNORECASE)
    if len(line) > _COMMENT_MAX:
        line = line[: _COMMENT_MAX - 3] + "..."
    assert pycomment(text) == unconfused(line)
    md = _printable_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert md_text(text) == re.sub(r"([\\`*_\[\]!|#~])", r"\\\1", md)


@given(hostile_text)
def test_finalize_guard_passes_exactly_identifier_like_text_seen_or_not(text: str) -> None:
    """The guard remembers tokens it has passed; what it refuses it refuses every time."""
    import re

    from onexgen.generation.errors import RenderError
    from onexgen.generation.filters import Emitted, finalize_guard

    class Sneaky(str):  # a str subclass is checked on its content, never remembered
        __slots__ = ()

    for value in (text, text, Sneaky(text), text + "!", "Node" + text):
        if re.fullmatch(r"[A-Za-z0-9_.]*", value) is not None:
            assert finalize_guard(value) is value
        else:
            with pytest.raises(RenderError, match="unfiltered value"):
                finalize_guard(value)
    assert finalize_guard(Emitted(text)) == text
