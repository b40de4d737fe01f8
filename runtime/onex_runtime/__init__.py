"""The small runtime generated ONEX nodes import: node base classes and mixins.

A generated node derives from its mixins and one of ``NodeEffect``,
``NodeCompute``, ``NodeReducer`` or ``NodeOrchestrator``; constructing it runs
every mixin's setup, which is where incompatible compositions fail with a
``CompositionError`` naming the mixins. ``MIXINS`` and ``check_composition``
describe the same rules statically for early rejection.
"""

__version__ = "0.2.0"

from onex_runtime.base import NodeBase
from onex_runtime.bus import Event, InProcessEventBus, default_bus
from onex_runtime.catalog import MIXINS, Conflict, MixinSpec, check_composition
from onex_runtime.connection import InMemoryConnection
from onex_runtime.context import NODE_TYPES, EffectRecord, NodeConfig, NodeContext, StepRecord
from onex_runtime.errors import (
    CircuitOpenError,
    CompositionError,
    ConnectionClosedError,
    InputValidationError,
    NodeContractError,
    NodeStateError,
    OnexRuntimeError,
    OperationTimeoutError,
    RateLimitedError,
    StatelessViolation,
    StepFailedError,
)
from onex_runtime.nodes import NodeCompute, NodeEffect, NodeOrchestrator, NodeReducer

RUNTIME_VERSION = __version__
"""The distribution's version (kept under this name for packages that read it)."""

__all__ = [
    "MIXINS",
    "NODE_TYPES",
    "RUNTIME_VERSION",
    "CircuitOpenError",
    "CompositionError",
    "Conflict",
    "ConnectionClosedError",
    "EffectRecord",
    "Event",
    "InMemoryConnection",
    "InProcessEventBus",
    "InputValidationError",
    "MixinSpec",
    "NodeBase",
    "NodeCompute",
    "NodeConfig",
    "NodeContext",
    "NodeContractError",
    "NodeEffect",
    "NodeOrchestrator",
    "NodeReducer",
    "NodeStateError",
    "OnexRuntimeError",
    "OperationTimeoutError",
    "RateLimitedError",
    "StatelessViolation",
    "StepFailedError",
    "StepRecord",
    "check_composition",
    "default_bus",
]
