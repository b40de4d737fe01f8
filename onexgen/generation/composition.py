"""The composition stage: does the generated node import, construct and pass its own test?

The real check (``codegen.validate.check_composition_for_real``) runs the
generated package in a child interpreter with a timeout, which costs a few
hundred milliseconds. Whether it passes depends only on the node type, the
*set* of mixins (they are rendered in canonical order) and the templates, so
outcomes are cached per ``(node type, frozenset of mixins, template version)``
in each generation process: the expensive check runs once per combination.
Timeouts are not cached (a loaded machine is not a property of the mixins).

Every outcome becomes a :class:`CompositionOutcome` on the job's answer, which
the worker publishes as automated mixin feedback (ground truth for learning).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from onex_runtime import MIXINS

from onexgen.generation.cache_stats import CounterPair
from onexgen.models.wire import FeedbackSource, GeneratedFile, MixinFeedback, NodeType, StageOutcome
from onexgen.support.pickling import pickled_by_constructor

CompositionKey = tuple[str, frozenset[str], str]
Checker = Callable[[Sequence[GeneratedFile], float, str], StageOutcome]


def canonical_order(mixins: Sequence[str]) -> list[str]:
    """Mixins with every subclass before the mixins it extends, otherwise in the given order.

    Python can only build a class whose bases list a subclass before its base,
    so this is the one order in which any valid set composes. Unknown names and
    duplicates stay where they are (the static check reports them).
    """
    names = list(mixins)
    extended = {base for m in names if m in MIXINS for base in MIXINS[m].extends}
    if not extended.intersection(names):
        return names  # the common case: nothing in the set extends anything else in it
    ordered: list[str] = []
    remaining = names
    while remaining:
        for i, name in enumerate(remaining):
            if not any(name in MIXINS[o].extends for o in remaining if o != name and o in MIXINS):
                ordered.append(remaining.pop(i))
                break
        else:  # pragma: no cover - subclassing cannot form a cycle
            ordered.extend(remaining)
            break
    return ordered


@pickled_by_constructor
@dataclass(frozen=True, slots=True)
class CompositionOutcome:
    """One composition verdict, to be published as automated mixin feedback.

    ``source`` is ``runtime`` when the generated code was run (or the cached
    result of running it), ``static`` when the catalogue rejected the set
    before rendering. ``cached`` says the verdict was not computed for this
    request (publish only uncached ones to avoid repeating the same fact).
    """

    node_type: str
    mixins: tuple[str, ...]
    success: bool
    reason: str
    cached: bool
    source: Literal["runtime", "static"]
    template_version: str | None

    def feedback(self, request_id: str | None = None) -> MixinFeedback | None:
        """The ``onexgen.feedback`` message for this outcome (None without mixins)."""
        if not self.mixins:
            return None
        return MixinFeedback(request_id=request_id, node_type=NodeType(self.node_type),
                             mixins=list(self.mixins), success=self.success,
                             error=self.reason[:2000] or None, source=FeedbackSource.AUTOMATED)

    def as_cached(self) -> CompositionOutcome:
        return self if self.cached else replace(self, cached=True)


def _real_check(files: Sequence[GeneratedFile], timeout_s: float, package: str) -> StageOutcome:
    from onexgen.generation.validate import check_composition_for_real

    return check_composition_for_real(files, timeout_s, package=package)


class CompositionCache:
    """Composition stage outcomes per (node type, mixin set, template version), bounded LRU."""

    def __init__(self, *, timeout_s: float = 5.0, max_entries: int = 4096,
                 checker: Checker = _real_check) -> None:
        self.timeout_s = timeout_s
        self.max_entries = max_entries
        self._checker = checker
        self._lock = threading.Lock()
        self._entries: OrderedDict[CompositionKey, StageOutcome] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.checks = 0

    @staticmethod
    def key(node_type: str, mixins: Sequence[str], version: str) -> CompositionKey:
        return (node_type, frozenset(mixins), version)

    def check(self, node_type: str, mixins: Sequence[str], version: str, package: str,
              files: Sequence[GeneratedFile]) -> tuple[StageOutcome, CompositionOutcome]:
        """The composition stage for this package, from the cache or by running it."""
        key = self.key(node_type, mixins, version)
        with self._lock:
            stage = self._entries.get(key)
            if stage is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
        cached = stage is not None
        if stage is None:
            self.checks += 1
            stage = self._checker(files, self.timeout_s, package)
            if not stage.detail.startswith("timed out"):
                with self._lock:
                    self._entries[key] = stage
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
        outcome = CompositionOutcome(node_type, tuple(mixins), stage.passed, stage.detail,
                                     cached, "runtime", version)
        return stage, outcome

    def stats(self) -> CounterPair:
        with self._lock:
            return CounterPair(self.hits, self.misses, len(self._entries))
