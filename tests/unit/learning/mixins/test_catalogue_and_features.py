"""Canonical sets and feature rows: order-free, buildable, and blind to outcomes."""

from __future__ import annotations

import numpy as np
import pytest
from onex_runtime import check_composition

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, canonical_order, combo_key, node_type_of
from onexgen.learning.mixins.data import probe_outcomes, sample_combinations, split_by_combination
from onexgen.learning.mixins.errors import UnknownNodeTypeError
from onexgen.learning.mixins.features import FeatureSpace
from onexgen.models.wire import NodeType


def test_canonical_order_any_input_order_same_buildable_tuple() -> None:
    a = canonical_order(["Connection", "Retry", "Repository", "Retry"])
    b = canonical_order(["Repository", "Connection", "Retry"])
    assert a == b
    assert a.index("Repository") < a.index("Connection")
    assert not check_composition("effect", list(a))


def test_canonical_order_every_extending_mixin_before_its_parent() -> None:
    order = canonical_order(MIXIN_NAMES)
    assert not [c for c in check_composition("effect", list(order)) if c.kind == "order"]


def test_combo_key_unknown_names_dropped_and_enum_accepted() -> None:
    assert combo_key(NodeType.EFFECT, ["Retyr", "Retry"]) == ("effect", ("Retry",))


def test_node_type_of_unknown_raises_with_choices() -> None:
    with pytest.raises(UnknownNodeTypeError, match="use one of compute, effect"):
        node_type_of("gateway")


def test_features_same_set_in_any_order_gives_identical_rows() -> None:
    space = FeatureSpace()
    rows = space.transform([combo_key("reducer", ["Retry", "Caching", "Audit"]),
                            combo_key("reducer", ["Audit", "Retry", "Caching"])])
    assert np.array_equal(rows[0], rows[1])


def test_features_width_matches_column_names_both_layouts() -> None:
    for catalogue in (True, False):
        space = FeatureSpace(catalogue=catalogue)
        assert space.transform([("effect", ())]).shape == (1, space.width)
        assert len(space.column_names()) == space.width


def test_features_catalogue_columns_count_declared_problems() -> None:
    space = FeatureSpace()
    names = space.column_names()
    row = space.transform([combo_key("compute", ["Caching", "Stateless", "EventDrivenNode"])])[0]
    got = {n: row[i] for i, n in enumerate(names) if n.startswith("catalogue.")}
    assert got["catalogue.unmet_requires"] == 2
    assert got["catalogue.declared_incompatible"] == 1
    assert got["catalogue.node_type_disallowed"] == 1


def test_features_do_not_depend_on_outcomes() -> None:
    """Rows are a function of the input alone: flipping every label changes no row."""
    outcomes = probe_outcomes(sample_combinations(5, seed=1))
    space = FeatureSpace()
    keys = [o.key for o in outcomes]
    assert np.array_equal(space.transform(keys), space.transform(list(keys)))
    assert not any("rate" in n or "score" in n for n in space.column_names())


def test_sample_combinations_distinct_sizes_zero_to_six() -> None:
    combos = sample_combinations(200, seed=5)
    assert len(combos) == len(set(combos)) == 800
    assert {len(m) for _, m in combos} == set(range(7))


def test_split_by_combination_no_key_in_both() -> None:
    outcomes = probe_outcomes(sample_combinations(50, seed=2))
    train, test = split_by_combination(outcomes + outcomes[:40])
    assert test and not {o.key for o in train} & {o.key for o in test}
