"""The static catalogue against the real runtime: they must agree."""

from __future__ import annotations

import itertools
import random

import pytest
from onex_runtime import MIXINS, NODE_TYPES, CompositionError, NodeEffect, check_composition
from onex_runtime.component import NodeMeta
from onex_runtime.mixins import ConnectionMixin, EventDrivenNodeMixin, RepositoryMixin, RetryMixin
from onex_runtime.probe import ProbeInput, ProbeOutput, probe_composition


def _agree(node_type: str, mixins: list[str]) -> str | None:
    conflicts = check_composition(node_type, mixins)
    result = probe_composition(node_type, mixins)
    if bool(conflicts) == result.ok:
        return f"{node_type} {mixins}: static={[str(c) for c in conflicts]} real={result}"
    if not result.ok:
        named = {m for c in conflicts for m in c.mixins}
        if result.error_type != "CompositionError" or not set(result.mixins) & named:
            return f"{node_type} {mixins}: real failure {result} not among {named}"
    return None


def test_catalogue_lists_at_least_sixteen_mixins_with_declarations() -> None:
    assert len(MIXINS) >= 16
    for name, spec in MIXINS.items():
        assert spec.name == name and spec.cls.__name__ == f"{name}Mixin"
        assert spec.node_types <= NODE_TYPES and spec.description
        for other, reason in spec.incompatible_with.items():
            assert MIXINS[other].incompatible_with[name] and reason


def test_catalogue_known_facts_are_declared() -> None:
    assert "Synchronous" in MIXINS["Retry"].incompatible_with
    assert "Stateless" in MIXINS["Caching"].incompatible_with
    for name in ("Caching", "Transaction", "Repository", "Audit", "RateLimiter", "CircuitBreaker"):
        assert MIXINS[name].stateful and "compute" not in MIXINS[name].node_types
    assert set(MIXINS["EventDrivenNode"].requires) == {"EventHandler", "NodeLifecycle"}


def test_check_composition_valid_set_returns_no_conflicts() -> None:
    assert check_composition("effect", ["Retry", "Metrics", "HealthCheck", "Transaction"]) == []


@pytest.mark.parametrize(("node_type", "mixins", "kind", "named"), [
    ("effect", ["Retry", "Synchronous"], "incompatible", {"Retry", "Synchronous"}),
    ("effect", ["Caching", "Stateless"], "incompatible", {"Caching", "Stateless"}),
    ("compute", ["Caching"], "node_type", {"Caching"}),
    ("reducer", ["Stateless"], "node_type", {"Stateless"}),
    ("effect", ["EventDrivenNode"], "missing", {"EventHandler", "NodeLifecycle"}),
    ("effect", ["Connection", "Repository"], "order", {"Connection", "Repository"}),
    ("effect", ["Retry", "Retry"], "duplicate", {"Retry"}),
    ("effect", ["Retyr"], "unknown", {"Retyr"}),
])
def test_check_composition_invalid_set_names_mixins_and_reason(
    node_type: str, mixins: list[str], kind: str, named: set[str]
) -> None:
    conflicts = check_composition(node_type, mixins)
    assert any(c.kind == kind and named <= set(c.mixins) and c.reason and c.fix
               for c in conflicts), conflicts


def test_probe_every_single_and_pair_on_every_node_type_agrees_with_static_check() -> None:
    names = list(MIXINS)
    combos = [[n] for n in names] + [list(p) for p in itertools.permutations(names, 2)]
    problems = [p for t in sorted(NODE_TYPES) for ms in combos if (p := _agree(t, ms))]
    assert problems == []


def test_probe_random_mixin_sets_agree_with_static_check() -> None:
    rng = random.Random(20240611)
    names = list(MIXINS)
    samples = [(rng.choice(sorted(NODE_TYPES)), rng.sample(names, rng.randint(3, 8)))
               for _ in range(300)]
    assert [p for t, ms in samples if (p := _agree(t, ms))] == []
    assert any(probe_composition(t, ms).ok for t, ms in samples)


def test_class_creation_mro_conflict_raises_composition_error_naming_fix() -> None:
    with pytest.raises(CompositionError, match="list Repository before Connection") as info:
        NodeMeta("Bad", (ConnectionMixin, RepositoryMixin, NodeEffect), {})
    assert info.value.mixins == ("Connection", "Repository")
    assert isinstance(info.value.__cause__, TypeError)


def test_class_creation_missing_requirement_names_mixin_to_add() -> None:
    with pytest.raises(CompositionError, match="add EventHandlerMixin, NodeLifecycleMixin"):
        class Bad(EventDrivenNodeMixin, NodeEffect[ProbeInput, ProbeOutput]):
            async def execute_effect(self, input_data: ProbeInput, context: object) -> ProbeOutput:
                raise NotImplementedError


def test_class_creation_duplicate_mixin_raises_composition_error() -> None:
    with pytest.raises(CompositionError, match="more than once"):
        NodeMeta("Bad", (RetryMixin, RetryMixin, NodeEffect), {})


def test_remembered_answers_are_fresh_lists_and_a_node_type_enum_counts_as_its_value() -> None:
    """The check is cached per (node type, mixins): callers still get their own list."""
    from onexgen.models.wire import NodeType

    first = check_composition("effect", ["Retry", "Retry"])
    first.clear()
    again = check_composition("effect", ["Retry", "Retry"])
    assert [c.kind for c in again] == ["duplicate"]
    assert check_composition(NodeType.EFFECT, ["Retry", "Retry"]) == again
