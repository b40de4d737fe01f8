"""The compatibility policy of request messages, both directions (models.wire.COMPATIBILITY).

Forward: a newer producer's request, carrying fields this version does not know, is
generated exactly as without them (not dead-lettered). Backward: requests written to the
1.0 schema (frozen in data/) still validate and generate, and today's schema requires
nothing 1.0 did not, keeps every 1.0 field with its type and loosens limits only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.job import run_job
from onexgen.models.wire import (
    SCHEMA_REVISION,
    SCHEMA_VERSION,
    WIRE_MODELS,
    GenerationRequest,
    GenerationResult,
    ResultStatus,
    schema_of,
)

DATA = Path(__file__).parent / "data"
ENGINE = Engine(EngineConfig(composition=False))
REQUEST: dict[str, Any] = {
    "request_id": "compat-1", "node_type": "effect", "name": "ParcelDispatch",
    "domain": "logistics", "description": "Books pickups with the carrier.",
    "operations": [{"name": "dispatch_parcel", "description": "Book one pickup."}],
    "mixins": ["Retry"]}
_GROWS = ("maxLength", "maxItems", "maximum")
_SHRINKS = ("minLength", "minItems", "minimum")


def _files(raw: dict[str, Any]) -> dict[str, str]:
    outcome = run_job(json.dumps(raw).encode(), "cid", ENGINE)
    assert outcome.kind == "result", outcome.reason
    result = GenerationResult.model_validate_json(outcome.payload)
    assert result.status is ResultStatus.SUCCEEDED, result.error
    return {f.path: f.content for f in result.files}


def test_generate_newer_producers_request_with_unknown_fields_gives_same_package() -> None:
    newer = {**REQUEST, "priority": "high", "labels": {"team": "logistics"},
             "operations": [{**REQUEST["operations"][0], "idempotent": True}]}
    assert _files(newer) == _files(REQUEST)


def test_validate_unknown_field_never_reaches_the_model() -> None:
    request = GenerationRequest.model_validate({**REQUEST, "__class__": "x", "exec": "y"})
    assert "exec" not in request.model_dump() and request.model_extra in (None, {})


def test_generate_request_written_to_schema_1_0_still_generates() -> None:
    frozen = json.loads((DATA / "request.schema.v1.0.json").read_text())
    minimal = {k: REQUEST[k] for k in frozen["required"]}
    assert _files(minimal)
    assert _files({**REQUEST, "schema_version": 1})


@pytest.mark.parametrize("name", ["request", "feedback"])
def test_schema_today_is_backward_compatible_with_1_0(name: str) -> None:
    old = json.loads((DATA / f"{name}.schema.v1.0.json").read_text())
    new = schema_of(name)
    news = dict(_models(new))
    for where, old_schema in _models(old):
        new_schema = news[where]
        assert set(new_schema.get("required", ())) <= set(old_schema.get("required", ())), where
        for field, old_prop in old_schema.get("properties", {}).items():
            new_prop = new_schema["properties"].get(field)
            assert new_prop is not None, f"{where}.{field} was removed"
            for key in ("type", "$ref", "enum", "const", "pattern"):
                assert new_prop.get(key) == old_prop.get(key), f"{where}.{field} {key}"
            for key in _GROWS:
                if key in old_prop:
                    assert new_prop.get(key, float("inf")) >= old_prop[key], f"{where}.{field}"
            for key in _SHRINKS:
                if key in old_prop:
                    assert new_prop.get(key, float("-inf")) <= old_prop[key], f"{where}.{field}"


def _models(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The schema's own object and its $defs, in a stable order."""
    return [("(root)", schema), *sorted(schema.get("$defs", {}).items())]


@pytest.mark.parametrize("name", list(WIRE_MODELS))
def test_export_schema_has_id_version_and_admits_unknown_fields(name: str) -> None:
    schema = schema_of(name)
    assert schema["$id"] == f"urn:onexgen:schema:{name}:v{SCHEMA_VERSION}"
    assert schema["x-schema-version"] == f"{SCHEMA_VERSION}.{SCHEMA_REVISION}"
    for _, model in _models(schema):
        assert model.get("additionalProperties") is not False
