"""Feature rows for (node type, mixin set): what the model may know about a combination.

Every column is a fact about the *input*, never about an observed outcome (the
original system fed a pair's own success rate back in as a feature, so its
accuracy measured nothing):

    node        one-hot node type                                   4
    member      one-hot mixin membership                            21
    pair        both mixins of a canonical pair present             210
    node_mixin  node type x mixin                                   84
    catalogue   declared facts from ``onex_runtime.MIXINS``          9
                (set size, stateful count, stateful on each node
                type, unmet ``requires``, declared-incompatible
                pairs, mixins not allowed on the node type)

The first four groups let a linear model learn any pairwise rule from data
alone (``catalogue=False`` keeps only them: the ablation the evaluation
reports); the catalogue group is prior knowledge the runtime declares about
itself. Rows are built as column indices and values, then scattered into one
dense float32 block per batch: under 10 us per combination, no sparse
machinery on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt
from onex_runtime import MIXINS

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, NODE_TYPE_NAMES, ComboKey

_CATALOGUE_COLUMNS = ("size", "stateful", *(f"stateful_on_{t}" for t in NODE_TYPE_NAMES),
                      "unmet_requires", "declared_incompatible", "node_type_disallowed")
_SCALE = 0.5
"""Counts are scaled so one unit weighs about as much as one indicator."""


def _pair_index() -> dict[tuple[int, int], int]:
    return {pair: i for i, pair in enumerate(combinations(range(len(MIXIN_NAMES)), 2))}


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    """The column layout; ``catalogue`` says whether the declared-facts group is included."""

    catalogue: bool = True
    _mixin: dict[str, int] = field(default_factory=lambda: {m: i for i, m in
                                                            enumerate(MIXIN_NAMES)})
    _node: dict[str, int] = field(default_factory=lambda: {t: i for i, t in
                                                           enumerate(NODE_TYPE_NAMES)})
    _pairs: dict[tuple[int, int], int] = field(default_factory=_pair_index)

    @property
    def width(self) -> int:
        m, t = len(MIXIN_NAMES), len(NODE_TYPE_NAMES)
        return t + m + len(self._pairs) + t * m + (len(_CATALOGUE_COLUMNS) if self.catalogue
                                                   else 0)

    def column_names(self) -> list[str]:
        names = [f"node={t}" for t in NODE_TYPE_NAMES] + [f"has={m}" for m in MIXIN_NAMES]
        names += [f"pair={MIXIN_NAMES[a]}+{MIXIN_NAMES[b]}" for a, b in self._pairs]
        names += [f"{t}x{m}" for t in NODE_TYPE_NAMES for m in MIXIN_NAMES]
        if self.catalogue:
            names += [f"catalogue.{c}" for c in _CATALOGUE_COLUMNS]
        return names

    def transform(self, combos: Sequence[ComboKey]) -> npt.NDArray[np.float32]:
        """One row per ``(node_type, canonical mixins)``; unknown mixins must be removed first."""
        m, t = len(MIXIN_NAMES), len(NODE_TYPE_NAMES)
        member0, pair0 = t, t + m
        cross0 = pair0 + len(self._pairs)
        cat0 = cross0 + t * m
        out = np.zeros((len(combos), self.width), dtype=np.float32)
        rows: list[int] = []
        cols: list[int] = []
        for r, (node_type, mixins) in enumerate(combos):
            ti = self._node[node_type]
            idx = sorted(self._mixin[x] for x in mixins)
            cells = [ti, *(member0 + i for i in idx), *(cross0 + ti * m + i for i in idx)]
            cells += [pair0 + self._pairs[p] for p in combinations(idx, 2)]
            rows += [r] * len(cells)
            cols += cells
            if self.catalogue:
                out[r, cat0:] = _catalogue_row(node_type, mixins)
        out[rows, cols] = 1.0
        return out


def _catalogue_row(node_type: str, mixins: Sequence[str]) -> list[float]:
    """The declared-facts group for one combination (see the module docstring)."""
    present = set(mixins) | {p for x in mixins for p in MIXINS[x].extends}
    stateful = sum(MIXINS[x].stateful for x in mixins)
    unmet = sum(r not in present for x in mixins for r in MIXINS[x].requires)
    clashes = sum(b in MIXINS[a].incompatible_with for a, b in combinations(mixins, 2))
    disallowed = sum(node_type not in MIXINS[x].node_types for x in mixins)
    on_type = [float(stateful) if node_type == t else 0.0 for t in NODE_TYPE_NAMES]
    return [_SCALE * len(mixins), _SCALE * stateful, *(_SCALE * v for v in on_type),
            float(unmet), float(clashes), float(disallowed)]
