"""The learned mixin gate as the engine uses it: configured once, memoised per mixin set.

``learning.mixins.gate.assess`` explains a predicted failure by ablation and
verifies suggested fixes with real composition probes, which costs far more than
rendering; a request's verdict depends only on (node type, mixin list), so it is
computed once per set in each process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onexgen.learning.mixins.gate import Assessment

_MAX_ENTRIES = 4096


class MixinGate:
    """``assess`` with ``policy`` and ``threshold`` fixed; ``None`` when the policy is off."""

    def __init__(self, policy: str, threshold: float, model: bytes | None) -> None:
        if policy not in ("off", "reject", "auto_resolve"):
            raise ValueError(f"mixin policy {policy!r}: use off, reject or auto_resolve")
        self.policy = policy
        self.threshold = threshold
        self._verdicts: dict[tuple[str, tuple[str, ...]], Assessment] = {}
        self._lock = threading.Lock()
        if model is not None and policy != "off":
            from onexgen.learning.mixins.gate import install_model

            install_model(model)

    def assess(self, node_type: str, mixins: tuple[str, ...]) -> Assessment | None:
        if self.policy == "off":
            return None
        key = (node_type, mixins)
        with self._lock:
            found = self._verdicts.get(key)
        if found is not None:
            return found
        from onexgen.learning.mixins.gate import assess  # heavy (scikit-learn): only when enabled

        verdict = assess(node_type, mixins, policy=self.policy,  # type: ignore[arg-type]  # checked in __init__
                         threshold=self.threshold)
        with self._lock:
            if len(self._verdicts) >= _MAX_ENTRIES:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict
