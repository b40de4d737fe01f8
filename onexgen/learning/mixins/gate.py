"""The decision the codegen job makes about a request's mixins, as one pure function.

``assess(node_type, mixins, policy=..., threshold=...)`` runs inside a
generation pool process (no I/O, no event loop; a few milliseconds when a set
is predicted to fail, microseconds when it is not) and says:

    accept         the set is predicted to work (score >= threshold, no static
                   conflict); generate it as requested
    reject         predicted to fail, policy ``reject`` (or ``auto_resolve``
                   found no verified fix, or a name is unknown): ``reason``
                   says why and lists the verified suggestions
    auto_resolved  predicted to fail, policy ``auto_resolve``: generate
                   ``mixins`` instead (the best *verified* suggestion) and say
                   what changed in ``reason``
    skipped        policy ``off``: the score is reported, nothing is decided

A set whose only problem is order (Connection listed before Repository) is
auto-resolved by re-ordering; under ``reject`` it is rejected with that fix.

Which model: ``install_model`` (call it in the pool initializer with the bytes
of the newest stored version) or, when none was installed, one trained at first
use from real probes (deterministic, about two seconds, once per process).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from onex_runtime import check_composition

from onexgen.learning.mixins.catalogue import canonical_order, node_type_of, split_known
from onexgen.learning.mixins.data import probe_outcomes, sample_combinations
from onexgen.learning.mixins.explain import Explanation, Suggestion, explain
from onexgen.learning.mixins.model import CompatibilityModel, from_bytes

MixinPolicy = Literal["reject", "auto_resolve", "off"]
Decision = Literal["accept", "reject", "auto_resolved", "skipped"]
DEFAULT_THRESHOLD = 0.5
DEFAULT_TRAINING_PER_TYPE = 1500

_lock = threading.Lock()
_model: CompatibilityModel | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    node_type: str
    requested: tuple[str, ...]
    score: float
    decision: Decision
    mixins: tuple[str, ...]
    """What to generate: the request's list (accept/skipped) or the resolved set."""
    reason: str
    conflicts: tuple[str, ...] = ()
    responsible: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = field(default=())

    @property
    def proceed(self) -> bool:
        """Whether the job should go on to render (with ``mixins``)."""
        return self.decision != "reject"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, e.g. for a ``StageOutcome`` detail or a log line."""
        return {"node_type": self.node_type, "requested": list(self.requested),
                "score": round(self.score, 4), "decision": self.decision,
                "mixins": list(self.mixins), "reason": self.reason,
                "conflicts": list(self.conflicts), "responsible": list(self.responsible),
                "suggestions": [{"action": s.action, "change": s.change, "mixins": list(s.mixins),
                                 "score": round(s.score, 4), "verified": s.verified}
                                for s in self.suggestions]}


def install_model(model: CompatibilityModel | bytes) -> None:
    """Use this model (or model bytes from a stored version) for ``assess`` in this process."""
    global _model
    loaded = from_bytes(model) if isinstance(model, bytes) else model
    with _lock:
        _model = loaded


def current_model() -> CompatibilityModel:
    """The installed model, or one trained now from real probes (once per process)."""
    global _model
    with _lock:
        if _model is None:
            outcomes = probe_outcomes(sample_combinations(DEFAULT_TRAINING_PER_TYPE, seed=0))
            _model = CompatibilityModel().fit(outcomes)
        return _model


def _listing(suggestions: Sequence[Suggestion]) -> str:
    if not suggestions:
        return "no verified fix found"
    return "verified fixes: " + "; ".join(f"{s.change} (score {s.score:.2f})"
                                          for s in suggestions)


def assess(node_type: object, mixins: Sequence[str], *, policy: MixinPolicy = "reject",
           threshold: float = DEFAULT_THRESHOLD,
           model: CompatibilityModel | None = None) -> Assessment:
    """Decide what to do with a request's mixin list (see the module docstring)."""
    kind = node_type_of(node_type)
    requested = tuple(mixins)
    model = model or current_model()
    static = check_composition(kind, list(requested))
    if policy == "off":
        score = model.predict(kind, requested)
        return Assessment(kind, requested, score, "skipped", requested,
                          f"mixin policy is off (score {score:.2f})",
                          tuple(str(c) for c in static))
    unknown = split_known(requested)[1]
    if unknown:
        return Assessment(kind, requested, 0.0, "reject", requested,
                          "unknown mixin(s): " + "; ".join(str(c) for c in static
                                                           if c.kind == "unknown"),
                          tuple(str(c) for c in static))
    found: Explanation = explain(model, kind, requested, threshold=threshold)
    conflicts = tuple(str(c) for c in static)
    blamed = tuple(name for name, _ in found.responsible)
    if found.score >= threshold and not found.conflicts:
        if not static:
            return Assessment(kind, requested, found.score, "accept", requested,
                              f"predicted to work (score {found.score:.2f} >= {threshold:.2f})",
                              conflicts)
        fixed = canonical_order(requested)  # only order or duplicates are wrong
        if policy == "auto_resolve" and not check_composition(kind, list(fixed)):
            return Assessment(kind, requested, found.score, "auto_resolved", fixed,
                              "re-ordered/de-duplicated the mixins to "
                              f"{', '.join(fixed)}: " + "; ".join(conflicts), conflicts)
        return Assessment(kind, requested, found.score, "reject", requested,
                          "; ".join(conflicts), conflicts)
    why = (f"predicted to fail (score {found.score:.2f} < {threshold:.2f})"
           if found.score < threshold else f"declared conflict (score {found.score:.2f})")
    if blamed:
        why += f"; responsible: {', '.join(blamed)}"
    if conflicts:
        why += "; " + "; ".join(conflicts)
    if policy == "auto_resolve" and found.suggestions:
        best = found.suggestions[0]
        return Assessment(kind, requested, found.score, "auto_resolved", best.mixins,
                          f"{why}; auto-resolved: {best.change} (score {best.score:.2f}, "
                          "verified by a real composition check)",
                          conflicts, blamed, found.suggestions)
    return Assessment(kind, requested, found.score, "reject", requested,
                      f"{why}; {_listing(found.suggestions)}", conflicts, blamed,
                      found.suggestions)
