"""Why a composition is predicted to fail, and what would fix it, checked for real.

Responsibility is found by ablation: remove each mixin in turn and re-score;
the mixins whose removal raises the score most are the ones the model blames.
The runtime's static conflicts (``check_composition``) are reported beside
them, because they name the rule that is broken.

Suggestions are generated from three moves, all scored in one batch:

    drop     remove one mixin (or the two most blamed)
    replace  swap a blamed mixin for another of the same family
             (the module it lives in: resilience, persistence, memory, ...),
             so the node keeps the kind of capability that was asked for
    add      add what a mixin ``requires`` and the set lacks, or any single
             mixin the model says turns the set into a working one

Candidates are ranked to keep as much of the request as possible (fewest
requested mixins lost, then score). A suggestion is only ``verified`` after a
real composition check (``probe_composition``: build, construct, start,
process, stop) of exactly that set in canonical order; candidates that fail
the check are discarded, never offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from onex_runtime import MIXINS, Conflict, check_composition
from onex_runtime.probe import probe_composition

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, ComboKey, combo_key
from onexgen.learning.mixins.model import CompatibilityModel

Action = Literal["drop", "replace", "add"]
VERIFY_LIMIT = 6
"""Real checks per explanation: each costs ~0.25 ms, the ranking puts the best first."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    action: Action
    change: str
    """What to do, e.g. ``replace Synchronous with Validation``."""
    mixins: tuple[str, ...]
    """The resulting set, in canonical (buildable) order."""
    score: float
    verified: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    node_type: str
    mixins: tuple[str, ...]
    score: float
    conflicts: tuple[Conflict, ...]
    responsible: tuple[tuple[str, float], ...]
    """Blamed mixins with the score the set gets without each, most blamed first."""
    suggestions: tuple[Suggestion, ...] = field(default=())
    rejected_candidates: int = 0
    """Candidates the model liked but the real check refused (not offered)."""


def _family(name: str) -> str:
    return MIXINS[name].cls.__module__.rsplit(".", 1)[-1]


def _candidates(key: ComboKey, blamed: Sequence[str],
                conflicts: Sequence[Conflict]) -> dict[ComboKey, tuple[Action, str]]:
    node_type, mixins = key
    have = set(mixins)
    out: dict[ComboKey, tuple[Action, str]] = {}

    def put(new: set[str], action: Action, change: str) -> None:
        k = combo_key(node_type, new)
        if k != key:
            out.setdefault(k, (action, change))

    missing = sorted({m for c in conflicts if c.kind == "missing" for m in c.mixins[1:]
                      if m not in have and m in MIXINS})
    if missing:
        put(have | set(missing), "add", f"add {', '.join(missing)}")
    for name in blamed:
        put(have - {name}, "drop", f"drop {name}")
        for other in MIXIN_NAMES:
            if other not in have and _family(other) == _family(name):
                put(have - {name} | {other}, "replace", f"replace {name} with {other}")
    if len(blamed) >= 2:
        put(have - set(blamed[:2]), "drop", f"drop {blamed[0]} and {blamed[1]}")
    for other in MIXIN_NAMES:
        if other not in have:
            put(have | {other}, "add", f"add {other}")
    for name in mixins:
        put(have - {name}, "drop", f"drop {name}")
    return out


def explain(model: CompatibilityModel, node_type: str, mixins: Sequence[str], *,
            threshold: float = 0.5, verify: bool = True, limit: int = 3) -> Explanation:
    """Score, blame, and up to ``limit`` verified suggestions for one combination."""
    key = combo_key(node_type, mixins)
    conflicts = tuple(c for c in check_composition(key[0], list(key[1]))
                      if c.kind not in ("order", "duplicate", "unknown"))
    ablated = [(key[0], tuple(m for m in key[1] if m != name)) for name in key[1]]
    scores = model.predict_keys([key, *ablated])
    score = float(scores[0])
    gains = sorted(((name, float(s)) for name, s in zip(key[1], scores[1:], strict=True)),
                   key=lambda item: -item[1])
    named = {m for c in conflicts for m in c.mixins}
    blamed = [n for n, s in gains if s - score > 0.05 or n in named]
    if score >= threshold and not conflicts:
        return Explanation(key[0], key[1], score, conflicts, ())
    responsible = tuple((n, s) for n, s in gains if n in blamed)
    options = _candidates(key, blamed, conflicts)
    keys = list(options)
    ranked = sorted(zip(keys, model.predict_keys(keys).tolist(), strict=True),
                    key=lambda item: (len(set(key[1]) - set(item[0][1])), -item[1]))
    good = [(k, s) for k, s in ranked if s >= threshold]
    suggestions: list[Suggestion] = []
    refused = 0
    for (k, s) in good[:VERIFY_LIMIT] if verify else good[:limit]:
        action, change = options[k]
        if not verify:
            suggestions.append(Suggestion(action, change, k[1], s, False, "not checked"))
        else:
            result = probe_composition(k[0], list(k[1]))
            if not result.ok:
                refused += 1
                continue
            suggestions.append(Suggestion(action, change, k[1], s, True,
                                          "built, started and processed a message"))
        if len(suggestions) >= limit:
            break
    return Explanation(key[0], key[1], score, conflicts, responsible, tuple(suggestions),
                       refused)

