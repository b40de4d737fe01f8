"""``NodeBase``: construction, lifecycle and the ``process`` entry point.

Construction runs every component's ``_component_setup`` (base classes first,
so mixins can rely on the node's registries), then every
``_component_verify``; composition conflicts surface there, at instantiation.
``process`` is the only public entry: it checks the lifecycle and the input
type, builds the per-call ``NodeContext`` and drives ``handle`` (the chain of
mixin wrappers ending at the node type) through the node's ``ProcessRunner``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel

from onex_runtime.component import NodeComponent
from onex_runtime.context import NodeConfig, NodeContext
from onex_runtime.errors import NodeContractError, NodeStateError, StatelessViolation
from onex_runtime.registries import HookRegistry, ProcessRunner, ResourceRegistry

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)

_LIFECYCLE_ATTRS = frozenset({"_running"})
"""Attributes the base itself flips after construction, even on frozen nodes."""


def _own(cls: type, name: str) -> Callable[..., Any] | None:
    value = cls.__dict__.get(name)
    return cast(Callable[..., Any], value) if callable(value) else None


class NodeBase(NodeComponent, Generic[InT, OutT]):
    """Common behaviour of the four node types; subclass one of them, not this."""

    node_name: ClassVar[str] = ""
    node_version: ClassVar[str] = "0.0.0"
    input_model: ClassVar[type[BaseModel]] = BaseModel
    output_model: ClassVar[type[BaseModel]] = BaseModel
    operations: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: NodeConfig | None = None) -> None:
        self.config = config or NodeConfig()
        self.resources = ResourceRegistry()
        self.hooks = HookRegistry()
        self.runner = ProcessRunner()
        self.freeze_requests = []
        self._running = False
        self._sealed = False
        mro = type(self).__mro__
        for cls in reversed(mro):
            setup = _own(cls, "_component_setup")
            if setup is not None:
                setup(self)
        for cls in reversed(mro):
            verify = _own(cls, "_component_verify")
            if verify is not None:
                verify(self)
        self._sealed = bool(self.freeze_requests)

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_sealed") and name not in _LIFECYCLE_ATTRS:
            owners = ", ".join(self.freeze_requests)
            raise StatelessViolation(
                f"{type(self).__name__} is stateless ({owners}) but assigned {name!r} after "
                "construction; keep per-call data in the NodeContext")
        object.__setattr__(self, name, value)

    @property
    def qualified_name(self) -> str:
        return self.node_name or type(self).__name__

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        """Open resources (components' ``_component_start``, then registered start hooks)."""
        if self._running:
            raise NodeStateError(f"{type(self).__name__} is already running")
        for cls in reversed(type(self).__mro__):
            start = _own(cls, "_component_start")
            if start is not None:
                await start(self)
        await self.hooks.run_start()
        self._running = True

    async def stop(self) -> None:
        """Release resources in reverse order; stopping a stopped node does nothing."""
        if not self._running:
            return
        self._running = False
        first: BaseException | None = None
        try:
            await self.hooks.run_stop()
        except Exception as exc:
            first = exc
        for cls in type(self).__mro__:
            stop = _own(cls, "_component_stop")
            if stop is None:
                continue
            try:
                await stop(self)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    async def __aenter__(self) -> NodeBase[InT, OutT]:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def coerce_input(self, input_data: BaseModel | Mapping[str, Any]) -> BaseModel:
        """Accept the declared input model or a mapping that validates into it."""
        if isinstance(input_data, self.input_model):
            return input_data
        if isinstance(input_data, Mapping):
            return self.input_model.model_validate(dict(input_data))
        raise NodeContractError(
            f"{type(self).__name__}.process expects {self.input_model.__name__}, "
            f"got {type(input_data).__name__}")

    async def process(
        self, input_data: InT | Mapping[str, Any], correlation_id: str | None = None
    ) -> OutT:
        """Run one input through the mixin pipeline and the node's operation."""
        if not self._running:
            raise NodeStateError(f"{type(self).__name__} is not running; await node.start() first")
        model = self.coerce_input(input_data)
        context = NodeContext.new(self.qualified_name, str(getattr(model, "operation", "")),
                                  correlation_id)
        output = await self.runner.run(self.handle(model, context))
        if not isinstance(output, self.output_model):
            raise NodeContractError(
                f"{type(self).__name__} returned {type(output).__name__}, "
                f"not its output model {self.output_model.__name__}")
        return cast(OutT, output)
