"""One model trained on real probes per session: every test here reads it, none mutates it."""

from __future__ import annotations

import pytest

from onexgen.learning.mixins.data import (
    Outcome,
    probe_outcomes,
    sample_combinations,
    split_by_combination,
)
from onexgen.learning.mixins.model import CompatibilityModel


@pytest.fixture(scope="session")
def outcomes() -> list[Outcome]:
    return probe_outcomes(sample_combinations(600, seed=3))


@pytest.fixture(scope="session")
def split(outcomes: list[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    return split_by_combination(outcomes, seed=3)


@pytest.fixture(scope="session")
def trained(split: tuple[list[Outcome], list[Outcome]]) -> CompatibilityModel:
    return CompatibilityModel().fit(split[0])


@pytest.fixture
def model(trained: CompatibilityModel) -> CompatibilityModel:
    """A private copy, for tests that update it."""
    return trained.copy()
