"""Shared helpers: requests from plain text, and one trained detector per session."""

from __future__ import annotations

import pytest

from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.training import default_detector
from onexgen.models.wire import GenerationRequest


def make_request(description: str = "", ops: list[tuple[str, str]] | None = None,
                 rid: str = "t-1") -> GenerationRequest:
    return GenerationRequest(
        request_id=rid, node_type="effect", name="Thing", domain="test",
        description=description,
        operations=[{"name": n, "description": d} for n, d in (ops or [])],
    )


@pytest.fixture(scope="session")
def trained() -> PatternDetector:
    """The shipped default detector; do not mutate."""
    return default_detector()
