"""Mixins that constrain how a node executes: Synchronous, Stateless, Validation, HashComputation.

Synchronous drives the whole call without ever suspending (so ``process_sync``
works from plain synchronous code). It owns the node's ``ProcessRunner`` and
turns lifecycle hooks off; when a part of the pipeline does suspend, the
coroutine chain says which mixin did, and the error names it.

Stateless refuses any declared state and freezes the instance after
construction; its conflicts with Caching, Audit & co. come from those mixins'
declared state, and its conflict with REDUCER nodes from the reducer's state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Coroutine, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from onex_runtime.component import MIXIN_CLASSES, MixinBase
from onex_runtime.context import NODE_TYPES, NodeContext
from onex_runtime.errors import CompositionError, InputValidationError, NodeContractError

T = TypeVar("T")


def _await_chain(coro: object) -> list[str]:
    """Qualified names of the frames a suspended coroutine is waiting in, outermost first."""
    names: list[str] = []
    current: object | None = coro
    while current is not None:
        code = getattr(current, "cr_code", None) or getattr(current, "gi_code", None)
        if code is None:
            names.append(type(current).__name__)
            break
        names.append(code.co_qualname)
        current = getattr(current, "cr_await", None) or getattr(current, "gi_yieldfrom", None)
    return names


def _mixin_of(qualname: str) -> str | None:
    owner = qualname.split(".", 1)[0]
    for name, cls in MIXIN_CLASSES.items():
        if cls.__name__ == owner:
            return name
    return None


def drive_inline(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion in one step; raise if it tries to suspend."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    chain = _await_chain(coro)
    coro.close()
    culprits = [m for m in (_mixin_of(q) for q in chain) if m and m != "Synchronous"]
    where = " -> ".join(chain)
    if culprits:
        culprit = culprits[-1]
        raise CompositionError(
            ("Synchronous", culprit),
            f"{culprit} suspends inside process ({where}), but a Synchronous node must finish "
            "each call without suspending",
            f"remove {culprit} or Synchronous")
    raise NodeContractError(f"a Synchronous node suspended in {where}; its operations must not "
                            "await anything that waits (I/O, sleep, locks held elsewhere)")


class SynchronousMixin(MixinBase):
    """Every call completes without suspending; ``process_sync`` runs it without a loop."""

    incompatible_with: ClassVar[Mapping[str, str]] = {
        "Retry": "Retry yields to the event loop before every attempt, and a Synchronous node "
                 "must finish each call without suspending",
        "Timeout": "both drive the whole process call; a deadline can only fire at a suspension "
                   "point, which Synchronous forbids",
        "EventDrivenNode": "EventDrivenNode subscribes from a start hook, and Synchronous turns "
                           "lifecycle hooks off",
    }

    def _component_setup(self) -> None:
        self.runner.install("Synchronous", "finish each call without suspending",
                            self._run_inline)
        self.hooks.disable("Synchronous", "a Synchronous node runs every call inline and does "
                           "no background start/stop work")

    async def _run_inline(self, call: Coroutine[Any, Any, BaseModel]) -> BaseModel:
        return drive_inline(call)

    def process_sync(self, input_data: Any, correlation_id: str | None = None) -> Any:
        """``process`` for synchronous callers (no event loop needed)."""
        process = getattr(self, "process", None)
        if process is None:
            raise NodeContractError(f"{type(self).__name__} is not a node")
        return drive_inline(process(input_data, correlation_id))


class StatelessMixin(MixinBase):
    """Guarantees nothing is kept between calls: no declared state, frozen instance."""

    node_types: ClassVar[frozenset[str]] = NODE_TYPES - {"reducer"}
    node_type_reason: ClassVar[str] = "a REDUCER node keeps its state between calls by design"
    incompatible_with: ClassVar[Mapping[str, str]] = {
        name: f"{name} keeps state between calls, which Stateless forbids"
        for name in ("Caching", "Transaction", "Repository", "Audit", "RateLimiter",
                     "CircuitBreaker")
    }

    def _component_verify(self) -> None:
        state = self.resources.of_kind("state")
        if state:
            first = state[0]
            mixins = [r.owner for r in state if r.owner in MIXIN_CLASSES]
            raise CompositionError(
                ["Stateless", *mixins],
                f"Stateless forbids state kept between calls, but {first.owner} keeps "
                f"{first.name!r}",
                f"remove {first.owner} or Stateless" if mixins
                else f"remove Stateless ({first.owner} keeps state by design)")
        self.freeze_requests.append("Stateless")


class ValidationMixin(MixinBase):
    """Re-validates input and output against the declared models (catches ``model_construct``)."""

    def _validated(self, model: BaseModel, declared: type[BaseModel], what: str) -> BaseModel:
        if not isinstance(model, declared):
            raise InputValidationError(f"{what} is {type(model).__name__}, "
                                       f"expected {declared.__name__}")
        try:
            return declared.model_validate(model.model_dump(mode="python", round_trip=True))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or what}: {e['msg']}"
                                 for e in exc.errors())
            raise InputValidationError(f"{what} does not validate: {problems}") from exc

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        input_model = getattr(self, "input_model", type(input_data))
        checked = self._validated(input_data, input_model, "input")
        operations: tuple[str, ...] = getattr(self, "operations", ())
        if operations and context.operation and context.operation not in operations:
            raise InputValidationError(f"operation {context.operation!r} is not one of "
                                       f"{', '.join(operations)}")
        output = await super().handle(checked, context)
        return self._validated(output, getattr(self, "output_model", type(output)), "output")


def content_hash(model: BaseModel) -> str:
    """SHA-256 of the model's canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class HashComputationMixin(MixinBase):
    """Annotates each call with SHA-256 digests of its input and output."""

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        context.annotations["input_sha256"] = content_hash(input_data)
        output = await super().handle(input_data, context)
        context.annotations["output_sha256"] = content_hash(output)
        return output
