"""Event mixins: publish results, handle events, and run as an event-driven node.

- ``EventBus`` publishes ``<node>.<operation>.completed`` / ``.failed`` after each call.
- ``EventHandler`` keeps a topic -> handler table; by default ``<node>.requested``
  events become ``process`` calls.
- ``NodeLifecycle`` exposes start/stop hook registration and the lifecycle history.
- ``EventDrivenNode`` subscribes the handler table to the bus on start and
  unsubscribes on stop. It registers lifecycle hooks to do so, which is why it
  cannot live with Synchronous (which turns hooks off).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from pydantic import BaseModel

from onex_runtime.bus import Event, InProcessEventBus, default_bus
from onex_runtime.component import MixinBase
from onex_runtime.context import NodeContext
from onex_runtime.errors import NodeContractError

EventFn = Callable[[Event], Awaitable[object]]


class EventBusMixin(MixinBase):
    """Publishes an event after every call, success or failure."""

    event_bus: InProcessEventBus

    def _component_setup(self) -> None:
        self.event_bus = self.config.bus or default_bus()
        self.resources.declare("event_bus", "wiring", "EventBus")

    async def publish_event(self, topic: str, payload: dict[str, Any], context: NodeContext) -> int:
        event = Event(topic, payload, context.correlation_id, context.node)
        return await self.event_bus.publish(event)

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        prefix = f"{context.node}.{context.operation or 'default'}"
        try:
            output = await super().handle(input_data, context)
        except Exception as exc:
            await self.publish_event(f"{prefix}.failed",
                                     {"error": f"{type(exc).__name__}: {exc}"}, context)
            raise
        await self.publish_event(f"{prefix}.completed", output.model_dump(mode="json"), context)
        return output


class EventHandlerMixin(MixinBase):
    """Dispatches incoming events by topic; ``<node>.requested`` runs ``process``."""

    event_handlers: dict[str, EventFn]

    def _component_setup(self) -> None:
        self.event_handlers = {}
        self.resources.declare("event_handlers", "wiring", "EventHandler")
        name = str(getattr(self, "qualified_name", type(self).__name__))
        self.event_handlers[f"{name}.requested"] = self._process_event

    def register_handler(self, topic: str, handler: EventFn) -> None:
        if topic in self.event_handlers:
            raise NodeContractError(f"a handler for {topic!r} is already registered")
        self.event_handlers[topic] = handler

    async def handle_event(self, event: Event) -> object:
        """Run the handler for the event's topic; unknown topics are a caller error."""
        handler = self.event_handlers.get(event.topic)
        if handler is None:
            raise NodeContractError(f"{type(self).__name__} has no handler for {event.topic!r}")
        return await handler(event)

    async def _process_event(self, event: Event) -> object:
        process = getattr(self, "process", None)
        if process is None:
            raise NodeContractError(f"{type(self).__name__} cannot process events: not a node")
        return await process(event.payload, event.correlation_id or None)


class NodeLifecycleMixin(MixinBase):
    """Start/stop hook registration plus a history of lifecycle transitions."""

    lifecycle_history: list[tuple[str, float]]

    def _component_setup(self) -> None:
        self.lifecycle_history = [("created", time.time())]
        self.resources.declare("lifecycle_history", "telemetry", "NodeLifecycle")

    async def _component_start(self) -> None:
        self.lifecycle_history.append(("started", time.time()))

    async def _component_stop(self) -> None:
        self.lifecycle_history.append(("stopped", time.time()))

    @property
    def lifecycle_state(self) -> str:
        return self.lifecycle_history[-1][0]

    def on_start(self, owner: str, purpose: str, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` when the node starts (in registration order)."""
        self.hooks.on_start(owner, purpose, hook)

    def on_stop(self, owner: str, purpose: str, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` when the node stops (last registered first)."""
        self.hooks.on_stop(owner, purpose, hook)


class EventDrivenNodeMixin(MixinBase):
    """Listens on the bus while running: subscribes every event handler on start."""

    requires: ClassVar[tuple[str, ...]] = ("EventHandler", "NodeLifecycle")
    event_subscriptions: list[int]
    event_handlers: dict[str, EventFn]

    def _component_setup(self) -> None:
        self.event_subscriptions = []
        self.resources.declare("event_subscriptions", "wiring", "EventDrivenNode")
        self.hooks.on_start("EventDrivenNode", "subscribe its event handlers to the bus",
                            self._subscribe_all)
        self.hooks.on_stop("EventDrivenNode", "unsubscribe from the bus", self._unsubscribe_all)

    def _bus(self) -> InProcessEventBus:
        bus = getattr(self, "event_bus", None)
        return bus if isinstance(bus, InProcessEventBus) else (self.config.bus or default_bus())

    async def _subscribe_all(self) -> None:
        bus = self._bus()
        for topic, handler in self.event_handlers.items():
            self.event_subscriptions.append(bus.subscribe(topic, handler, type(self).__name__))

    async def _unsubscribe_all(self) -> None:
        bus = self._bus()
        while self.event_subscriptions:
            bus.unsubscribe(self.event_subscriptions.pop())
