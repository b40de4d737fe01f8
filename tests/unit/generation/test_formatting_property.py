"""Property: whatever valid request comes in, the package is ruff-format output and lint clean.

Hypothesis draws batches of valid requests (names from one letter to the schema's 64,
up to 50 operations, hostile descriptions, every node type, random mixin sets the
catalogue accepts); each batch is rendered, written once and checked with one run of
``ruff format --check``, ``ruff check`` (defaults + I, B, UP, SIM, RUF) and ``compile``.
"""

from __future__ import annotations

import keyword
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onex_runtime import MIXINS, check_composition

from onexgen.generation.filters import pyrepr
from onexgen.generation.render import Renderer, reserved_names
from onexgen.models.wire import GenerationRequest, NodeType
from tests.integration.generation.package_check import (
    compile_problems,
    ruff_problems,
    write_packages,
)

RENDERER = Renderer()
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _valid_name(name: str) -> bool:
    return ("__" not in name and not keyword.iskeyword(name)
            and not keyword.issoftkeyword(name))


def _identifier(first: str, rest: str, max_size: int = 64) -> st.SearchStrategy[str]:
    """Identifiers of 1..max_size characters, lengths spread over the whole range."""
    return st.builds(lambda a, b: a + b, st.sampled_from(first),
                     st.text(rest, max_size=max_size - 1)).filter(_valid_name)


node_names = st.one_of(
    _identifier("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    _identifier("abcdefghijklmnopqrstuvwxyz", _ALNUM + "_"),
    st.integers(1, 64).map(lambda n: ("Parcel" * 11)[:n]))
snake_names = st.one_of(_identifier("abcdefghijklmnopqrstuvwxyz", _ALNUM + "_"),
                        st.integers(1, 64).map(lambda n: ("dispatch_" * 8)[:n]))
descriptions = st.one_of(st.just(""), st.text(max_size=300),
                         st.text("ab \"'\\\n\t{}#", max_size=120))
operations: st.SearchStrategy[list[dict[str, str]]] = st.lists(
    st.fixed_dictionaries({"name": snake_names.filter(
        lambda n: n not in reserved_names() and n != "l"), "description": descriptions}),
    max_size=50, unique_by=lambda op: op["name"])


@st.composite
def requests(draw: st.DrawFn) -> GenerationRequest:
    kind = draw(st.sampled_from(list(NodeType)))
    allowed = sorted(n for n, spec in MIXINS.items() if kind.value in spec.node_types)
    chosen = draw(st.lists(st.sampled_from(allowed), max_size=6, unique=True))
    mixins = list(dict.fromkeys(m for name in chosen for m in (*MIXINS[name].requires, name)))
    if check_composition(kind.value, mixins):
        mixins = []
    return GenerationRequest.model_validate({
        "request_id": "prop", "node_type": kind.value, "name": draw(node_names),
        "domain": draw(snake_names), "description": draw(descriptions),
        "operations": draw(operations), "mixins": mixins,
        "version": draw(st.sampled_from(["1.0.0", "12.340.5", "9999.9999.9999"]))})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=20, max_size=20))
def test_render_any_valid_requests_is_formatted_lint_clean_and_compiles(
        batch: list[GenerationRequest]) -> None:
    packages = []
    for number, request in enumerate(batch):  # distinct package paths within the batch
        domain = request.domain[:58].rstrip("_")
        request = request.model_copy(update={"domain": f"{domain}_{number}"})
        packages.append(RENDERER.render(request))
    with tempfile.TemporaryDirectory(prefix="onexgen-prop-") as tmp:
        code, blocks = write_packages(Path(tmp), packages)
        assert compile_problems(code) + compile_problems(blocks) == ""
        assert ruff_problems(code, blocks) == ""


@given(st.text())
def test_pyrepr_any_text_quotes_as_ruff_prefers(text: str) -> None:
    literal = pyrepr(text)
    quote = "'" if text.count('"') > text.count("'") else '"'
    assert literal[0] == literal[-1] == quote
    assert eval(literal) == text  # noqa: S307 - evaluating a literal we just made
