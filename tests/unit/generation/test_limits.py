"""Limits that are honest: every request the schema admits generates or is rejected.

The file limit (``MAX_FILE_CHARS``) is derived from the request limits; these tests render
the largest requests the schema admits, with the characters that grow most when escaped,
and check the boundaries themselves with hypothesis.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from onexgen.generation import render
from onexgen.generation.engine import Engine, EngineConfig
from onexgen.models.wire import MAX_FILE_CHARS, GenerationRequest, ResultStatus

KAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1_048_588
GROWING = ["\U0001d400", "&", "\x00", '"', "\u00e9", "\u0378", "\\", "\n", "{{"]
"""Characters that escape longest somewhere: a confusable astral letter (``\\U0001d400``
in Python and YAML), ``&`` (``&amp;`` in Markdown), NUL, quotes, non-ASCII, unassigned."""

ENGINE = Engine(EngineConfig(composition=False))


def _largest(ch: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_id": "limits", "node_type": "orchestrator", "name": "N" + "a" * 63,
        "domain": "d" * 64, "description": (ch * 2000)[:2000],
        "operations": [{"name": f"o{i:02d}" + "p" * 61, "description": (ch * 500)[:500]}
                       for i in range(50)],
        "mixins": ["EventBus", "EventHandler", "Audit"]}
    data.update(overrides)
    return data


@pytest.mark.parametrize("ch", GROWING)
def test_render_largest_request_with_growing_text_fits_file_and_message_limits(ch: str) -> None:
    result, _, _ = ENGINE.generate(GenerationRequest.model_validate(_largest(ch)))
    assert result.status is ResultStatus.SUCCEEDED, result.error
    assert max(len(f.content) for f in result.files) <= MAX_FILE_CHARS
    assert len(result.model_dump_json()) < KAFKA_DEFAULT_MESSAGE_MAX_BYTES


def test_render_issue_example_42_operations_empty_descriptions_succeeds() -> None:
    request = GenerationRequest.model_validate({
        "request_id": "r42", "node_type": "effect", "name": "UserStore", "domain": "identity",
        "operations": [{"name": f"operation_number_{i}", "description": ""} for i in range(42)]})
    result, _, _ = ENGINE.generate(request)
    assert result.status is ResultStatus.SUCCEEDED, result.error
    assert max(len(f.content) for f in result.files) > 20_000  # past the old limit


@pytest.mark.parametrize(("field", "value"), [
    ("operations", [{"name": f"op_{i}"} for i in range(51)]),
    ("description", "x" * 2001),
    ("name", "N" * 65),
    ("mixins", ["Retry"] * 33),
])
def test_validate_request_one_past_a_limit_is_refused_by_the_schema(field: str,
                                                                    value: Any) -> None:
    with pytest.raises(ValidationError):
        GenerationRequest.model_validate(_largest("a", **{field: value}))


def test_render_file_over_the_limit_is_rejected_naming_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "MAX_FILE_CHARS", 5_000)
    result, _, _ = ENGINE.generate(GenerationRequest.model_validate(_largest("a")))
    assert result.status is ResultStatus.REJECTED
    assert result.error_type == "OutputTooLarge"
    assert "5,000" in (result.error or "") and "shorten the descriptions" in (result.error or "")


def test_render_operation_named_l_is_rejected_naming_the_lint_rule() -> None:
    result, _, _ = ENGINE.generate(GenerationRequest.model_validate(
        _largest("a", operations=[{"name": "l"}], mixins=[])))
    assert result.status is ResultStatus.REJECTED
    assert "E743" in (result.error or "")


near_max = st.builds(
    lambda ch, n, desc_len, op_len, kind: _largest(
        ch, node_type=kind, mixins=[], description=(ch * desc_len)[:desc_len],
        operations=[{"name": f"o{i:02d}" + "p" * 61, "description": (ch * op_len)[:op_len]}
                    for i in range(n)]),
    st.sampled_from(GROWING) | st.characters(), st.integers(40, 50), st.integers(1900, 2000),
    st.integers(450, 500), st.sampled_from(["effect", "compute", "reducer", "orchestrator"]))


@settings(max_examples=25, deadline=None)
@given(near_max)
def test_generate_any_request_at_the_limits_succeeds_or_is_rejected(data: dict[str, Any]) -> None:
    try:
        request = GenerationRequest.model_validate(data)
    except ValidationError:
        return  # the schema's own boundary: not this test's subject
    result, _, _ = ENGINE.generate(request)
    assert result.status in (ResultStatus.SUCCEEDED, ResultStatus.REJECTED), result.error
    if result.status is ResultStatus.SUCCEEDED:
        assert len(orjson.dumps(result.model_dump(mode="json"))) < KAFKA_DEFAULT_MESSAGE_MAX_BYTES
