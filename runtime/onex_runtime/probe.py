"""Try a composition for real, in this process: build the class, construct, start, process, stop.

This is the ground truth for "does this mixin set work on this node type":
the same steps a generated node's smoke test performs, without rendering.
The learning component can call it to label compositions; the tests use it to
prove the static catalogue agrees with the runtime for every pair.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from onex_runtime.base import NodeBase
from onex_runtime.catalog import MIXINS
from onex_runtime.component import NodeMeta
from onex_runtime.context import NodeContext
from onex_runtime.errors import CompositionError
from onex_runtime.nodes import NodeCompute, NodeEffect, NodeOrchestrator, NodeReducer

Stage = Literal["class", "instantiate", "start", "process", "stop", "done"]


class ProbeInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    operation: str = "probe"
    payload: dict[str, Any] = Field(default_factory=dict)


class ProbeOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    operation: str
    success: bool
    result: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str


def _output(input_data: ProbeInput, context: NodeContext, **result: Any) -> ProbeOutput:
    return ProbeOutput(operation=input_data.operation, success=True, result=result,
                       correlation_id=context.correlation_id)


class _ProbeEffect(NodeEffect[ProbeInput, ProbeOutput]):
    async def execute_effect(self, input_data: ProbeInput, context: NodeContext) -> ProbeOutput:
        context.record_effect("probe", "nowhere")
        return _output(input_data, context)


class _ProbeCompute(NodeCompute[ProbeInput, ProbeOutput]):
    async def execute_compute(self, input_data: ProbeInput, context: NodeContext) -> ProbeOutput:
        return _output(input_data, context, keys=sorted(input_data.payload))


class _ProbeReducer(NodeReducer[ProbeInput, ProbeOutput]):
    async def execute_reduction(self, input_data: ProbeInput, state: dict[str, Any],
                                context: NodeContext) -> ProbeOutput:
        state["count"] = int(state.get("count", 0)) + 1
        return _output(input_data, context, count=state["count"])


class _ProbeOrchestrator(NodeOrchestrator[ProbeInput, ProbeOutput]):
    async def execute_orchestration(self, input_data: ProbeInput,
                                    context: NodeContext) -> ProbeOutput:
        value = await self.run_step(context, "only", self._step())
        return _output(input_data, context, step=value)

    async def _step(self) -> str:
        return "done"


_BASES: dict[str, type[NodeBase[Any, Any]]] = {
    "effect": _ProbeEffect, "compute": _ProbeCompute,
    "reducer": _ProbeReducer, "orchestrator": _ProbeOrchestrator,
}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How far a composition got, and the real error if it failed."""

    ok: bool
    stage: Stage
    error_type: str = ""
    detail: str = ""
    mixins: tuple[str, ...] = ()

    @classmethod
    def failure(cls, stage: Stage, exc: BaseException) -> ProbeResult:
        if isinstance(exc, CompositionError):
            return cls(False, stage, type(exc).__name__, str(exc), exc.mixins)
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return cls(False, stage, type(exc).__name__, last)


def compose_node(node_type: str, mixins: Sequence[str]) -> type[NodeBase[Any, Any]]:
    """Build a node class with ``mixins`` (in order) over a probe base of ``node_type``."""
    bases = (*(MIXINS[m].cls for m in mixins), _BASES[str(node_type).lower()])
    namespace = {"input_model": ProbeInput, "output_model": ProbeOutput,
                 "node_name": "Probe", "__module__": __name__}
    cls = NodeMeta(f"Probe{str(node_type).title()}", bases, namespace)
    return cast(type[NodeBase[Any, Any]], cls)


async def _exercise(node: NodeBase[Any, Any]) -> None:
    await node.start()
    try:
        await node.process(ProbeInput(payload={"key": "value"}), correlation_id="probe")
    finally:
        await node.stop()


def _run_coroutine(coro: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run``, also when this thread already runs a loop (then on a helper thread):
    a probe called from async code must not fail for that reason and be taken as a verdict."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="probe") as pool:
        pool.submit(asyncio.run, coro).result()


def probe_composition(node_type: str, mixins: Sequence[str]) -> ProbeResult:
    """Run the composition for real; ``ok`` is the ground truth the catalogue must match."""
    stage: Stage = "class"
    try:
        cls = compose_node(node_type, mixins)
        stage = "instantiate"
        node = cls()
        stage = "start"
        _run_coroutine(_exercise(node))
    except Exception as exc:
        return ProbeResult.failure(stage if stage != "start" else _stage_of(exc), exc)
    return ProbeResult(True, "done")


def _stage_of(exc: BaseException) -> Stage:
    """Where in the async part an error came from (start, process or stop)."""
    frames = [f.name for f in traceback.extract_tb(exc.__traceback__)]
    if "process" in frames:
        return "process"
    if "stop" in frames:
        return "stop"
    return "start"
