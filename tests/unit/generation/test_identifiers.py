"""Case conversion of request names: the names that reach generated code."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onexgen.models.identifiers import pascal_case, snake_case


def _snake_by_group_reference(name: str) -> str:
    """The first implementation (a group reference in the replacement): the oracle."""
    return re.sub(r"_+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)).lower()


@pytest.mark.parametrize(("name", "snake"), [
    ("UserStore", "user_store"), ("user_store", "user_store"),
    ("Bench12Compute", "bench12_compute"),
    ("HTTPServer", "httpserver"), ("a__b", "a_b"), ("NodeV2Reducer", "node_v2_reducer"),
    ("x", "x"), ("ABc", "abc"), ("aB_C", "a_b_c"),
])
def test_snake_case_examples(name: str, snake: str) -> None:
    assert snake_case(name) == snake


@given(st.text(alphabet="aAbZz09_", min_size=1, max_size=24))
def test_snake_case_matches_the_group_reference_version(name: str) -> None:
    assert snake_case(name) == _snake_by_group_reference(name)


def test_pascal_case_joins_snake_parts() -> None:
    assert pascal_case("user_store") == "UserStore"
    assert pascal_case("UserStore") == "UserStore"
