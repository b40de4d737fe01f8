"""Mixin sets as the model sees them: canonical, validated, in a buildable order.

The model predicts for a *set* of mixins, so ``{Retry, Caching}`` and
``{Caching, Retry}`` must be the same input and the same Postgres key. A set
still has to be composed in *some* order to be probed, and order matters in one
way only: a mixin that extends another (Repository extends Connection) must
come first or Python cannot build the class. ``canonical_order`` therefore sorts
by name and then moves every extending mixin before the mixins it extends;
that order is what labels are measured on and what ``auto_resolve`` emits.

Unknown names are kept apart (``split_known``): the static check reports them,
and they carry no learned meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from onex_runtime import MIXINS, NODE_TYPES

from onexgen.learning.mixins.errors import UnknownNodeTypeError

MIXIN_NAMES: tuple[str, ...] = tuple(sorted(MIXINS))
"""Every catalogue mixin, in the fixed order feature columns use."""

NODE_TYPE_NAMES: tuple[str, ...] = tuple(sorted(NODE_TYPES))
"""The four node types, in the fixed order feature columns use."""

ComboKey = tuple[str, tuple[str, ...]]
"""``(node_type, canonical mixins)``: one combination, the unit of train/test splits."""


def node_type_of(value: object) -> str:
    """The wire spelling (``effect``) of a node type given as enum or any case."""
    text = str(getattr(value, "value", value)).lower()
    if text not in NODE_TYPES:
        raise UnknownNodeTypeError(
            f"unknown node type {value!r}; use one of {', '.join(NODE_TYPE_NAMES)}")
    return text


def split_known(mixins: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(known, unknown)`` names, each de-duplicated in first-seen order."""
    unique = list(dict.fromkeys(mixins))
    return [m for m in unique if m in MIXINS], [m for m in unique if m not in MIXINS]


def canonical_order(mixins: Iterable[str]) -> tuple[str, ...]:
    """Known mixins de-duplicated, by name, with each extending mixin before its parents."""
    known = sorted(split_known(mixins)[0])
    out: list[str] = []
    for name in known:
        # insert before the first already placed mixin that ``name`` extends
        parents = set(MIXINS[name].extends)
        at = next((i for i, placed in enumerate(out) if placed in parents), len(out))
        out.insert(at, name)
    return tuple(out)


def combo_key(node_type: object, mixins: Iterable[str]) -> ComboKey:
    """The canonical identity of a combination (node type + canonical mixin set)."""
    return node_type_of(node_type), canonical_order(mixins)


def describe(node_type: str, mixins: Sequence[str]) -> str:
    """``EFFECT[Caching, Retry]``: how logs and the CLI name a combination."""
    return f"{node_type.upper()}[{', '.join(mixins)}]"
