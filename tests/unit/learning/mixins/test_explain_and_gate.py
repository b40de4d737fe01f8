"""Blame, verified suggestions, and the codegen gate's decisions under each policy."""

from __future__ import annotations

import pytest
from onex_runtime.probe import probe_composition

from onexgen.learning.mixins.explain import explain
from onexgen.learning.mixins.gate import assess
from onexgen.learning.mixins.model import CompatibilityModel


def test_explain_incompatible_pair_blames_both_and_names_static_conflict(
        trained: CompatibilityModel) -> None:
    found = explain(trained, "effect", ["Retry", "Synchronous", "Metrics"])
    assert found.score < 0.5
    assert {name for name, _ in found.responsible} == {"Retry", "Synchronous"}
    assert any(c.kind == "incompatible" for c in found.conflicts)


def test_explain_suggestions_are_verified_by_real_probe_and_scored(
        trained: CompatibilityModel) -> None:
    found = explain(trained, "reducer", ["Stateless", "Audit", "Retry"])
    assert found.suggestions
    for s in found.suggestions:
        assert s.verified and s.score >= 0.5
        assert probe_composition("reducer", list(s.mixins)).ok


def test_explain_missing_requirement_suggests_adding_it_first(
        trained: CompatibilityModel) -> None:
    found = explain(trained, "effect", ["EventDrivenNode", "Metrics"])
    best = found.suggestions[0]
    assert best.action == "add" and {"EventHandler", "NodeLifecycle"} <= set(best.mixins)


def test_explain_working_set_has_no_blame_or_suggestions(trained: CompatibilityModel) -> None:
    found = explain(trained, "effect", ["Retry", "Metrics"])
    assert found.score >= 0.5 and not found.responsible and not found.suggestions


def test_assess_reject_policy_rejects_and_lists_verified_fixes(
        trained: CompatibilityModel) -> None:
    result = assess("compute", ["Caching", "Validation"], model=trained)
    assert result.decision == "reject" and not result.proceed
    assert "Caching" in result.responsible and "verified fixes: drop Caching" in result.reason
    assert result.to_dict()["suggestions"][0]["verified"] is True


def test_assess_auto_resolve_uses_best_verified_suggestion(trained: CompatibilityModel) -> None:
    result = assess("compute", ["Caching", "Validation"], policy="auto_resolve", model=trained)
    assert result.decision == "auto_resolved" and result.proceed
    assert result.mixins == ("Validation",) and "auto-resolved: drop Caching" in result.reason
    assert probe_composition("compute", list(result.mixins)).ok


def test_assess_order_only_problem_reordered_or_rejected(trained: CompatibilityModel) -> None:
    fixed = assess("effect", ["Connection", "Repository"], policy="auto_resolve", model=trained)
    assert fixed.decision == "auto_resolved" and fixed.mixins == ("Repository", "Connection")
    refused = assess("effect", ["Connection", "Repository"], model=trained)
    assert refused.decision == "reject" and "list Repository before Connection" in refused.reason


def test_assess_unknown_mixin_rejected_with_did_you_mean(trained: CompatibilityModel) -> None:
    result = assess("effect", ["Retyr"], policy="auto_resolve", model=trained)
    assert result.decision == "reject" and "did you mean Retry?" in result.reason


def test_assess_valid_set_accepted_as_requested(trained: CompatibilityModel) -> None:
    result = assess("effect", ["Retry", "Metrics"], model=trained)
    assert result.decision == "accept" and result.mixins == ("Retry", "Metrics")


def test_assess_policy_off_reports_score_and_decides_nothing(
        trained: CompatibilityModel) -> None:
    result = assess("effect", ["Retry", "Synchronous"], policy="off", model=trained)
    assert result.decision == "skipped" and result.proceed and result.score < 0.5


def test_assess_learned_in_use_failure_rejected_although_catalogue_allows(
        model: CompatibilityModel) -> None:
    from onexgen.learning.mixins.data import Outcome

    for _ in range(8):
        model.partial_fit([Outcome("effect", ("Caching", "Timeout"), False, 1.0)] * 3)
    result = assess("effect", ["Caching", "Timeout"], model=model)
    assert not result.conflicts and result.decision == "reject"
    assert "predicted to fail" in result.reason


def test_assess_unknown_node_type_raises() -> None:
    with pytest.raises(ValueError, match="unknown node type"):
        assess("gateway", [], model=CompatibilityModel())
