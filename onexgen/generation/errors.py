"""Errors of generation: a batch of requests in, results out.

Exception tree::

    GenerationError
    ├── RequestRejected          the request is valid JSON but cannot be generated as asked
    │   ├── UnknownMixinError    a mixin name not in the runtime's catalogue
    │   ├── CompositionRejected  the mixins conflict statically (names them and why)
    │   └── InvalidOperationError  operation names collide with the runtime or each other
    ├── RenderError              a template failed or emitted an unfiltered value (our bug)
    └── PoolUnavailable          a pool process died mid-batch; transient, the batch is retried

``RequestRejected`` maps to a ``rejected`` result, ``RenderError`` to ``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from onex_runtime.catalog import Conflict


class GenerationError(Exception):
    """Root of every error generation raises on purpose."""


class RequestRejected(GenerationError):
    """The request cannot be generated as asked; the message says what to change."""


class UnknownMixinError(RequestRejected):
    def __init__(self, conflicts: Sequence[Conflict]) -> None:
        self.conflicts = tuple(conflicts)
        self.mixins = tuple(m for c in self.conflicts for m in c.mixins)
        super().__init__("; ".join(str(c) for c in self.conflicts))


class CompositionRejected(RequestRejected):
    def __init__(self, node_type: str, conflicts: Sequence[Conflict]) -> None:
        self.node_type = node_type
        self.conflicts = tuple(conflicts)
        self.mixins = tuple(dict.fromkeys(m for c in self.conflicts for m in c.mixins))
        details = "; ".join(str(c) for c in self.conflicts)
        super().__init__(f"mixins cannot be combined on a {node_type.upper()} node: {details}")


class InvalidOperationError(RequestRejected):
    """An operation name that would shadow a runtime attribute, or is listed twice."""


class OutputTooLarge(RequestRejected):
    """A generated file would exceed ``MAX_FILE_CHARS`` (a safety net: the request limits
    are derived so that no valid request gets here)."""


class RenderError(GenerationError):
    """Rendering failed; this is a generator bug, not a bad request."""


class PoolUnavailable(GenerationError):
    """A pool process died mid-batch; a new pool is started and the batch retried."""
