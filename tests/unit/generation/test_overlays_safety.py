"""Overlay templates we did not write: forgetting a filter, or working around it, is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.errors import RenderError
from onexgen.generation.render import Renderer
from onexgen.models.wire import GeneratedFile, ResultStatus
from tests.unit.generation.conftest import make_request
from tests.unit.generation.test_hostile_input import _shape

HOSTILE = ['say "hi"', "it's", '"""', "'''", "a\nb", "a\r\nb", "{{ 7 * 7 }}", "{% if 1 %}x",
           '"; import os; os.system("id"); x = "', "\\", "a\u2028b", "\x00", "two words",
           '""" + __import__("os").getcwd() + """', "# -*- coding: rot13 -*-", "}}"]
BENIGN = "Benign"

FORGETS_FILTER = """{% extends "node_base.py.j2" %}
{% block op_body %}
        note = "{{ description }}"
{{ super() }}{% endblock %}
"""


def _shapes(files: list[GeneratedFile]) -> dict[str, str]:
    return {f.path: _shape(f.content) for f in files if f.path.endswith(".py")}


def _overlay(tmp_path: Path, **templates: str) -> Path:
    for name, text in templates.items():
        (tmp_path / name.replace("__", ".")).write_text(text)
    return tmp_path


@pytest.fixture(scope="module")
def forgetful(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    overlay = _overlay(tmp_path_factory.mktemp("forgets"), node_compute__py__j2=FORGETS_FILTER)
    return Engine(EngineConfig(template_dirs=(overlay,), composition=False))


def _twins(engine: Engine, text: str) -> tuple[ResultStatus, dict[str, str], dict[str, str]]:
    hostile, _, _ = engine.generate(make_request("compute", [], description=text))
    benign, _, _ = engine.generate(make_request("compute", [], description=BENIGN))
    assert benign.status is ResultStatus.SUCCEEDED, benign.error
    return hostile.status, _shapes(hostile.files), _shapes(benign.files)


@pytest.mark.parametrize("text", HOSTILE)
def test_generate_overlay_without_filter_hostile_text_refused(forgetful: Engine,
                                                               text: str) -> None:
    result, _, _ = forgetful.generate(make_request("compute", [], description=text))
    assert result.status is ResultStatus.FAILED and result.files == []
    assert "unfiltered" in (result.error or "") and "node_compute.py.j2 line 3" in (
        result.error or "")


def test_generate_overlay_without_filter_benign_token_passes(forgetful: Engine) -> None:
    result, _, _ = forgetful.generate(make_request("compute", [], description=BENIGN))
    node = next(f.content for f in result.files if f.path == "node.py")
    assert result.status is ResultStatus.SUCCEEDED and f'note = "{BENIGN}"' in node


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)),
                     min_size=1, max_size=5).map("".join))
def test_generate_overlay_without_filter_any_text_refused_or_same_shape(
        forgetful: Engine, text: str) -> None:
    status, hostile, benign = _twins(forgetful, text)
    assert status is ResultStatus.FAILED or hostile == benign


WORKAROUNDS = {
    "string filter": '{{ description | string }}',
    "safe filter": '{{ description | safe }}',
    "replace after pyrepr": '{{ description | pyrepr | replace("\\\\", "") }}',
    "set block": '{% set x %}{{ description | pyrepr }}{% endset %}{{ x | replace("x", "y") }}',
    "format call block": '{% call "{}".format(description) %}{% endcall %}',
    "method call": '{{ description.__str__() }}',
    "safe class": "{{ (description | pyrepr).__class__(description) }}",
    "safe class by key": '{{ (description | pyrepr)["__class__"](description) }}',
    "safe class by computed key": '{% set k = "_" ~ "_class__" %}'
                                  "{{ (description | pyrepr)[k](description) }}",
    "safe class by attr filter": '{{ (description | pyrepr | attr("__class__"))(description) }}',
    "safe class by map": '{{ ([description | pyrepr] | map(attribute="__class__") | first)'
                         "(description) }}",
}


@pytest.mark.parametrize("body", WORKAROUNDS.values(), ids=list(WORKAROUNDS))
def test_render_overlay_working_around_filters_refused(tmp_path: Path, body: str) -> None:
    template = FORGETS_FILTER.replace('"{{ description }}"', body)
    renderer = Renderer(overlays=[_overlay(tmp_path, node_compute__py__j2=template)])
    with pytest.raises(RenderError) as caught:
        renderer.render(make_request("compute", [], description='x"; import os #'))
    assert "node_compute.py.j2 line 3" in str(caught.value)


def test_render_overlay_filter_block_refused_with_file_and_line(tmp_path: Path) -> None:
    template = FORGETS_FILTER.replace(
        '"{{ description }}"', '{% filter upper %}{{ description | pyrepr }}{% endfilter %}')
    renderer = Renderer(overlays=[_overlay(tmp_path, node_compute__py__j2=template)])
    with pytest.raises(RenderError, match=r"node_compute\.py\.j2 line 3: \{% filter %\}"):
        renderer.render(make_request("compute", []))


def test_render_overlay_macro_output_printed_its_values_still_guarded(tmp_path: Path) -> None:
    overlay = _overlay(
        tmp_path, _m__j2='{% macro quoted(text) %}"{{ text }}"{% endmacro %}\n'
        '{% macro safe(text) %}{{ text | pyrepr }}{% endmacro %}\n',
        node_compute__py__j2=FORGETS_FILTER.replace(
            '"{{ description }}"', "{{ m.safe(description) }}").replace(
            "{% block op_body %}", '{% import "_m.j2" as m %}{% block op_body %}'))
    renderer = Renderer(overlays=[overlay])
    package = renderer.render(make_request("compute", [], description='a"b'))
    node = next(f.content for f in package.files if f.path == "node.py")
    assert "note = 'a\"b'" in node
    bad = FORGETS_FILTER.replace('"{{ description }}"', "{{ m.quoted(description) }}").replace(
        "{% block op_body %}", '{% import "_m.j2" as m %}{% block op_body %}')
    (overlay / "node_compute.py.j2").write_text(bad)
    with pytest.raises(RenderError, match=r"_m\.j2 line 1: template printed unfiltered"):
        Renderer(overlays=[overlay]).render(make_request("compute", [], description='a"b'))
