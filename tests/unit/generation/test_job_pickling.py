"""A job's answer crosses the pool's pipe pickled: every field must survive the trip."""

from __future__ import annotations

import dataclasses
import pickle

from onexgen.generation.composition import CompositionOutcome
from onexgen.generation.job import JobOutcome


def _composition() -> CompositionOutcome:
    return CompositionOutcome("effect", ("Retry", "Metrics"), False, "why not", True, "static",
                              "1.0.0+abc")


def _outcome() -> JobOutcome:
    """Every field away from its default, so a field left out of the pickle shows."""
    return JobOutcome("result", "r-1", "failed", b'{"x":1}', "render_error", "it broke", 12.5,
                      _composition(), True, "onexgen:out:key", (("render", 1, 2),))


def test_job_outcome_survives_pickling_field_for_field() -> None:
    outcome = _outcome()
    back = pickle.loads(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert back == outcome and type(back) is JobOutcome
    assert [getattr(back, name) for name in JobOutcome._fields] == [
        getattr(outcome, name) for name in JobOutcome._fields]


def test_composition_outcome_survives_pickling() -> None:
    outcome = _composition()
    assert pickle.loads(pickle.dumps(outcome)) == outcome  # noqa: S301 - our own bytes


def test_reduce_names_every_field_in_order() -> None:
    """``__reduce__`` hands back the class and every field, in the constructor's order."""
    value = _composition()
    reduced = value.__reduce__()
    assert isinstance(reduced, tuple)
    assert reduced[0] is type(value)
    assert reduced[1] == tuple(getattr(value, f.name) for f in dataclasses.fields(value))
