"""The four ONEX node types and the contract each one enforces.

- ``NodeEffect`` does external I/O; operations report what they did with
  ``context.record_effect`` and the node counts effects per action.
- ``NodeCompute`` is a pure transformation: construction refuses any part that
  keeps state or does I/O, and the instance is frozen after construction.
- ``NodeReducer`` owns ``state``; reductions run one at a time and a failed
  reduction leaves the state exactly as it was.
- ``NodeOrchestrator`` runs named steps in order through ``run_step``; each is
  recorded on the context and the first failure stops the workflow.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar, cast

from pydantic import BaseModel

from onex_runtime.base import InT, NodeBase, OutT
from onex_runtime.component import MIXIN_CLASSES
from onex_runtime.context import NodeContext, StepRecord
from onex_runtime.errors import CompositionError, NodeContractError, StepFailedError

T = TypeVar("T")


class NodeEffect(NodeBase[InT, OutT]):
    """A node whose operations touch the outside world (stores, APIs, queues)."""

    node_type: ClassVar[str] = "effect"
    effect_counts: Counter[str]

    def _component_setup(self) -> None:
        self.effect_counts = Counter()
        self.resources.declare("effect_counts", "telemetry", "NodeEffect")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        try:
            return await self.execute_effect(cast(InT, input_data), context)
        finally:
            self.effect_counts.update(e.action for e in context.effects)

    @abstractmethod
    async def execute_effect(self, input_data: InT, context: NodeContext) -> OutT:
        """Perform the operation named by the input; generated nodes dispatch here."""


class NodeCompute(NodeBase[InT, OutT]):
    """A pure transformation: same input, same output, nothing kept between calls."""

    node_type: ClassVar[str] = "compute"

    def _component_verify(self) -> None:
        # State first: Repository/Transaction declare state themselves, while their
        # I/O is declared by the Connection they extend; name the mixin that was asked for.
        offending = [*self.resources.of_kind("state"), *self.resources.of_kind("io")]
        if offending:
            resource = offending[0]
            what = "keeps state between calls" if resource.kind == "state" else "does I/O"
            culprits = [resource.owner] if resource.owner in MIXIN_CLASSES else []
            raise CompositionError(
                culprits,
                f"COMPUTE nodes are pure and stateless, but {resource.owner} {what} "
                f"({resource.name!r})",
                f"remove {resource.owner}, or make the node an EFFECT or REDUCER",
            )
        self.freeze_requests.append("COMPUTE node")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        return await self.execute_compute(cast(InT, input_data), context)

    @abstractmethod
    async def execute_compute(self, input_data: InT, context: NodeContext) -> OutT:
        """Transform the input into the output without side effects."""


class NodeReducer(NodeBase[InT, OutT]):
    """Folds inputs into ``state``; one reduction at a time, all-or-nothing."""

    node_type: ClassVar[str] = "reducer"
    state: dict[str, Any]
    _reduce_lock: asyncio.Lock

    def _component_setup(self) -> None:
        self.state = {}
        self._reduce_lock = asyncio.Lock()
        self.resources.declare("reducer_state", "state", "NodeReducer")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        async with self._reduce_lock:
            working = copy.deepcopy(self.state)
            output = await self.execute_reduction(cast(InT, input_data), working, context)
            self.state.clear()
            self.state.update(working)
            return output

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state, safe to hand out."""
        return copy.deepcopy(self.state)

    @abstractmethod
    async def execute_reduction(
        self, input_data: InT, state: dict[str, Any], context: NodeContext
    ) -> OutT:
        """Fold the input into ``state`` (a working copy, committed on success)."""


class NodeOrchestrator(NodeBase[InT, OutT]):
    """Coordinates a workflow of named steps, recorded on the context."""

    node_type: ClassVar[str] = "orchestrator"

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        return await self.execute_orchestration(cast(InT, input_data), context)

    async def run_step(self, context: NodeContext, name: str, call: Awaitable[T]) -> T:
        """Await one step; record it; turn its failure into ``StepFailedError``."""
        if any(step.name == name for step in context.steps):
            if inspect.iscoroutine(call):
                call.close()
            raise NodeContractError(f"step {name!r} already ran in this workflow; use unique names")
        started = time.perf_counter()
        try:
            result = await call
        except Exception as exc:
            ms = (time.perf_counter() - started) * 1000.0
            context.steps.append(StepRecord(name, False, ms, f"{type(exc).__name__}: {exc}"))
            raise StepFailedError(name, exc) from exc
        context.steps.append(StepRecord(name, True, (time.perf_counter() - started) * 1000.0))
        return result

    @abstractmethod
    async def execute_orchestration(self, input_data: InT, context: NodeContext) -> OutT:
        """Run the workflow for the input, one ``run_step`` per step."""
