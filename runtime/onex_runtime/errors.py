"""Errors raised by the ONEX runtime that generated nodes import.

Exception tree::

    OnexRuntimeError
    ├── CompositionError        mixins that cannot live in one node (names them, why, the fix)
    ├── NodeContractError       a node broke the contract of its type or of a mixin it uses
    │   └── StatelessViolation  a stateless node assigned an attribute after construction
    ├── NodeStateError          lifecycle misuse (process before start, start twice)
    ├── InputValidationError    Validation rejected an input or output model
    ├── CircuitOpenError        CircuitBreaker is open; the call was not attempted
    ├── RateLimitedError        RateLimiter had no token; the call was not attempted
    ├── OperationTimeoutError   Timeout's deadline passed
    ├── ConnectionClosedError   Connection used while closed
    └── StepFailedError         an orchestrator step failed (names the step)

Composition errors are the ones the learning component trains on, so they
carry the mixin names as data as well as in the message.
"""

from __future__ import annotations

from collections.abc import Iterable


class OnexRuntimeError(Exception):
    """Root of every error the runtime raises on purpose."""


class CompositionError(OnexRuntimeError, TypeError):
    """Mixins that cannot be combined in one node, with the reason and the fix.

    It is also a ``TypeError`` because Python reports bad class composition
    (MRO, duplicate bases) as ``TypeError``; code catching that still works.
    """

    def __init__(self, mixins: Iterable[str], reason: str, fix: str = "") -> None:
        self.mixins: tuple[str, ...] = tuple(dict.fromkeys(mixins))
        self.reason = reason
        self.fix = fix
        names = " + ".join(self.mixins) if self.mixins else "node"
        message = f"invalid composition [{names}]: {reason}"
        if fix:
            message += f"; fix: {fix}"
        super().__init__(message)


class NodeContractError(OnexRuntimeError):
    """A node broke the contract of its node type or of one of its mixins."""


class StatelessViolation(NodeContractError):
    """A stateless node assigned an attribute after construction."""


class NodeStateError(OnexRuntimeError):
    """A lifecycle method was called in the wrong state."""


class InputValidationError(OnexRuntimeError):
    """An input or output did not validate against the node's declared model."""


class CircuitOpenError(OnexRuntimeError):
    """The circuit is open after repeated failures; retry after the reset time."""


class RateLimitedError(OnexRuntimeError):
    """No token was available; the caller should back off."""


class OperationTimeoutError(OnexRuntimeError, TimeoutError):
    """The process call did not finish within the configured deadline."""


class ConnectionClosedError(OnexRuntimeError):
    """The node's connection was used before start() or after stop()."""


class StepFailedError(OnexRuntimeError):
    """An orchestrator step raised; later steps were not run."""

    def __init__(self, step: str, cause: BaseException) -> None:
        self.step = step
        super().__init__(f"step {step!r} failed: {type(cause).__name__}: {cause}")
