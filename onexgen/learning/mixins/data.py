"""Labelled outcomes: real composition checks and feedback events, as model inputs.

Ground truth is what really happens when a node is built from the mixins, never
a table: ``probe_outcomes`` builds the class, constructs it, starts it, runs
``process`` and stops it (``onex_runtime.probe``, about 0.25 ms each), and
``onexgen.generation.mixin_samples`` renders a real package and runs its generated test in a
child interpreter (``codegen.validate``, about a second each, so only a
sample). Engine checks are automated feedback (weight 0.5); users' reports on
the feedback topic weigh 1.0 (``learning.patterns.weights``, shared with the
database's ``learning_weight`` rule).

``split_by_combination`` keeps every combination wholly in train or in test,
so a test figure is about combinations the model never saw.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from onex_runtime.probe import probe_composition

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, NODE_TYPE_NAMES, ComboKey, combo_key
from onexgen.learning.patterns.weights import AUTOMATED_WEIGHT, weight_for
from onexgen.models.wire import MixinFeedback

MAX_SET_SIZE = 6


@dataclass(frozen=True, slots=True)
class Outcome:
    """One observed composition: did ``node_type`` with ``mixins`` work, and how much it counts."""

    node_type: str
    mixins: tuple[str, ...]
    works: bool
    weight: float = AUTOMATED_WEIGHT
    detail: str = ""

    @property
    def key(self) -> ComboKey:
        return self.node_type, self.mixins


def sample_combinations(per_type: int, *, seed: int = 0,
                        max_size: int = MAX_SET_SIZE) -> list[ComboKey]:
    """``per_type`` distinct random sets of 0..``max_size`` mixins for every node type.

    The size is drawn uniformly first, so large sets (where most conflicts hide)
    are as common as small ones rather than as rare as uniform subsets make them.
    """
    rng = random.Random(seed)
    out: list[ComboKey] = []
    for node_type in NODE_TYPE_NAMES:
        seen: set[ComboKey] = set()
        attempts = 0
        while len(seen) < per_type and attempts < per_type * 50:
            attempts += 1
            size = rng.randint(0, max_size)
            key = combo_key(node_type, rng.sample(MIXIN_NAMES, size))
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out


def probe_outcomes(combos: Iterable[ComboKey]) -> list[Outcome]:
    """Label each combination by running it for real, in this process (automated weight)."""
    out = []
    for node_type, mixins in combos:
        result = probe_composition(node_type, mixins)
        detail = "" if result.ok else f"{result.stage}: {result.error_type}: {result.detail}"
        out.append(Outcome(node_type, mixins, result.ok, AUTOMATED_WEIGHT, detail))
    return out


def outcome_from_feedback(event: MixinFeedback) -> Outcome | None:
    """A feedback event as a weighted outcome; ``None`` when no mixin in it is known."""
    key = combo_key(event.node_type, event.mixins)
    if not key[1]:
        return None
    return Outcome(key[0], key[1], event.success, weight_for(event.source), event.error or "")


def split_by_combination(outcomes: Sequence[Outcome], test_fraction: float = 0.2, *,
                         seed: int = 0) -> tuple[list[Outcome], list[Outcome]]:
    """Train and test outcomes with no combination in both (all repeats go together)."""
    keys = sorted({o.key for o in outcomes})
    random.Random(seed).shuffle(keys)
    held = set(keys[:round(len(keys) * test_fraction)])
    return ([o for o in outcomes if o.key not in held], [o for o in outcomes if o.key in held])
