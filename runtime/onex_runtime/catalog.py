"""The mixin catalogue and the static composition check.

``MIXINS`` is built from what each mixin class declares about itself, so the
catalogue cannot drift from the classes. ``check_composition`` answers, without
building a class, whether a node type with these mixins (in this order) would
work; the codegen service uses it to reject requests early. The runtime does
not consult this table: its failures come from what mixins actually do, and
the test suite checks that both agree for every pair and for random sets.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from onex_runtime import mixins as _mixins  # noqa: F401 - importing registers every mixin
from onex_runtime.component import MIXIN_CLASSES, MixinBase
from onex_runtime.context import NODE_TYPES

ConflictKind = Literal["unknown", "duplicate", "node_type", "missing", "incompatible", "order"]


@dataclass(frozen=True, slots=True)
class MixinSpec:
    """What one mixin is and what it needs; ``extends`` are mixins it subclasses."""

    name: str
    cls: type[MixinBase]
    requires: tuple[str, ...]
    incompatible_with: Mapping[str, str]
    node_types: frozenset[str]
    node_type_reason: str
    stateful: bool
    extends: tuple[str, ...]
    description: str

    @property
    def class_name(self) -> str:
        return self.cls.__name__


@dataclass(frozen=True, slots=True)
class Conflict:
    """One reason a composition cannot work, with the mixins involved and the fix."""

    kind: ConflictKind
    mixins: tuple[str, ...]
    reason: str
    fix: str

    def __str__(self) -> str:
        return f"[{' + '.join(self.mixins)}] {self.reason}; fix: {self.fix}"


def _build() -> dict[str, MixinSpec]:
    declared: dict[str, dict[str, str]] = {n: dict(c.incompatible_with)
                                           for n, c in MIXIN_CLASSES.items()}
    for name, others in list(declared.items()):
        for other, reason in others.items():
            if other not in MIXIN_CLASSES:
                raise RuntimeError(f"{name} declares incompatibility with unknown mixin {other}")
            declared[other].setdefault(name, reason)
    specs: dict[str, MixinSpec] = {}
    for name, cls in sorted(MIXIN_CLASSES.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        parents = tuple(k.mixin_name for k in cls.__mro__[1:]
                        if issubclass(k, MixinBase) and "mixin_name" in k.__dict__)
        specs[name] = MixinSpec(
            name=name, cls=cls, requires=tuple(cls.requires),
            incompatible_with=MappingProxyType(dict(sorted(declared[name].items()))),
            node_types=frozenset(cls.node_types), node_type_reason=cls.node_type_reason,
            stateful=cls.stateful, extends=parents, description=doc[0] if doc else name)
    return specs


MIXINS: Mapping[str, MixinSpec] = MappingProxyType(_build())
"""Every mixin by name (``"Retry"``), as declared by its class."""


def check_composition(node_type: str, mixins: Sequence[str]) -> list[Conflict]:
    """Every reason ``node_type`` with ``mixins`` (in this base order) would fail; empty if fine."""
    return list(_conflicts(node_type, tuple(mixins)))


@functools.lru_cache(maxsize=1024, typed=True)  # a NodeType and its value apart
def _conflicts(node_type: str, mixins: tuple[str, ...]) -> tuple[Conflict, ...]:
    """The check itself, remembered: the catalogue never changes while a process runs, and
    a service sees the same few sets over and over (every request is checked)."""
    kind = str(node_type).lower()
    conflicts: list[Conflict] = []
    if kind not in NODE_TYPES:
        conflicts.append(Conflict("node_type", (), f"unknown node type {node_type!r}",
                                  f"use one of {', '.join(sorted(NODE_TYPES))}"))
    for name in dict.fromkeys(m for m in mixins if m not in MIXINS):
        close = difflib.get_close_matches(name, list(MIXINS), n=1)
        hint = f"did you mean {close[0]}?" if close else f"choose from {', '.join(MIXINS)}"
        conflicts.append(Conflict("unknown", (name,), f"unknown mixin {name!r}", hint))
    for name in sorted({m for m in mixins if list(mixins).count(m) > 1}):
        conflicts.append(Conflict("duplicate", (name,), f"{name} is listed more than once",
                                  "list each mixin once"))
    known = [m for m in dict.fromkeys(mixins) if m in MIXINS]
    present = set(known) | {p for m in known for p in MIXINS[m].extends}
    for name in known:
        spec = MIXINS[name]
        if kind in NODE_TYPES and kind not in spec.node_types:
            allowed = ", ".join(t.upper() for t in sorted(spec.node_types))
            conflicts.append(Conflict("node_type", (name,), f"{name} cannot be used on a "
                                      f"{kind.upper()} node: {spec.node_type_reason}",
                                      f"remove {name}, or use a node of type {allowed}"))
        missing = [r for r in spec.requires if r not in present]
        if missing:
            adds = ", ".join(missing)
            conflicts.append(Conflict("missing", (name, *missing),
                                      f"{name} requires {adds}", f"add {adds}"))
    for i, first in enumerate(known):
        for second in known[i + 1:]:
            reason = MIXINS[first].incompatible_with.get(second)
            if reason:
                conflicts.append(Conflict("incompatible", (first, second), reason,
                                          f"remove {first} or {second}"))
            if first in MIXINS[second].extends:
                conflicts.append(Conflict(
                    "order", (first, second),
                    f"{second} extends {first}, so listing {first} first makes the class's "
                    "method resolution order impossible",
                    f"list {second} before {first}, or drop {first}"))
    return tuple(conflicts)
