"""Mixin sets labelled the slow way: a rendered package's own test, run in a child interpreter.

The learning package labels combinations in-process (``probe_outcomes``); this is the
independent check its evidence protocol compares against. It lives here because it
renders and validates, which is generation's job (learning sits below generation).
"""

from __future__ import annotations

from collections.abc import Sequence

from onexgen.generation.render import default_renderer
from onexgen.generation.validate import check_composition_for_real
from onexgen.learning.mixins.catalogue import ComboKey
from onexgen.learning.mixins.data import Outcome
from onexgen.learning.patterns.weights import AUTOMATED_WEIGHT
from onexgen.models.wire import GenerationRequest, NodeType, Operation


def subprocess_outcomes(combos: Sequence[ComboKey], timeout_s: float = 20.0) -> list[Outcome]:
    """Label by rendering a real package and running its generated test in a child process."""
    renderer = default_renderer()
    out = []
    for i, (node_type, mixins) in enumerate(combos):
        request = GenerationRequest(
            request_id=f"mixin-sample-{i}", node_type=NodeType(node_type), name="Sample",
            domain="learning", operations=[Operation(name="run")], mixins=list(mixins))
        package = renderer.render(request, check_mixins=False)
        check = check_composition_for_real(package.files, timeout_s, package=package.package)
        out.append(Outcome(node_type, mixins, check.passed, AUTOMATED_WEIGHT, check.detail))
    return out
