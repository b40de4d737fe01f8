"""Per-node registries through which mixins claim resources, hooks and the runner.

These are where conflicts between mixins arise *from what the mixins do*, not
from a table: a mixin that keeps state declares it here and a stateless node
finds it; a mixin that needs a start hook registers one and a mixin that turns
hooks off finds it; two mixins that both want to drive ``process`` both try to
install the single runner. Each conflict names both parties.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from onex_runtime.errors import CompositionError

ResourceKind = Literal["state", "io", "telemetry", "wiring"]
Hook = Callable[[], Awaitable[None]]
Runner = Callable[[Coroutine[Any, Any, BaseModel]], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Resource:
    """Something a mixin keeps on the node: ``state`` survives between calls,
    ``io`` talks to the outside, ``telemetry`` only observes, ``wiring`` connects."""

    name: str
    kind: ResourceKind
    owner: str


class ResourceRegistry:
    """What each part of a node keeps; node types and Stateless inspect it."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, Resource] = {}

    def declare(self, name: str, kind: ResourceKind, owner: str) -> None:
        """Claim ``name``; two owners claiming one name would overwrite each other."""
        existing = self._items.get(name)
        if existing is not None and existing.owner != owner:
            raise CompositionError(
                (existing.owner, owner),
                f"both keep a resource named {name!r} on the node and would overwrite each other",
                f"use only one of {existing.owner} and {owner}",
            )
        self._items[name] = Resource(name, kind, owner)

    def of_kind(self, kind: ResourceKind) -> list[Resource]:
        return [r for r in self._items.values() if r.kind == kind]

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._items.values()))


class HookRegistry:
    """Start/stop callbacks registered at construction; a mixin may disable them."""

    __slots__ = ("_disabled_by", "_start", "_stop")

    def __init__(self) -> None:
        self._start: list[tuple[str, Hook]] = []
        self._stop: list[tuple[str, Hook]] = []
        self._disabled_by: tuple[str, str] | None = None

    def _check_enabled(self, owner: str, purpose: str) -> None:
        if self._disabled_by is not None:
            disabler, reason = self._disabled_by
            raise CompositionError(
                (owner, disabler),
                f"{owner} needs a lifecycle hook to {purpose}, but {disabler} disables "
                f"lifecycle hooks ({reason})",
                f"remove {owner} or {disabler}",
            )

    def on_start(self, owner: str, purpose: str, hook: Hook) -> None:
        self._check_enabled(owner, purpose)
        self._start.append((owner, hook))

    def on_stop(self, owner: str, purpose: str, hook: Hook) -> None:
        self._check_enabled(owner, purpose)
        self._stop.append((owner, hook))

    def disable(self, owner: str, reason: str) -> None:
        """Turn hooks off; fails if a part of the node already relies on one."""
        users = [o for o, _ in self._start + self._stop if o != owner]
        if users:
            raise CompositionError(
                (users[0], owner),
                f"{users[0]} registered a lifecycle hook, but {owner} disables lifecycle "
                f"hooks ({reason})",
                f"remove {users[0]} or {owner}",
            )
        self._disabled_by = (owner, reason)

    async def run_start(self) -> None:
        for _, hook in self._start:
            await hook()

    async def run_stop(self) -> None:
        """Run every stop hook (last first) even if one fails; re-raise the first error."""
        first: BaseException | None = None
        for _, hook in reversed(self._stop):
            try:
                await hook()
            except Exception as exc:  # later hooks must still run
                first = first or exc
        if first is not None:
            raise first


class ProcessRunner:
    """How the whole ``process`` pipeline is driven; only one mixin may own that."""

    __slots__ = ("_owner", "_purpose", "_runner")

    def __init__(self) -> None:
        self._owner: str | None = None
        self._purpose = ""
        self._runner: Runner | None = None

    @property
    def owner(self) -> str | None:
        return self._owner

    def install(self, owner: str, purpose: str, runner: Runner) -> None:
        if self._owner is not None and self._owner != owner:
            raise CompositionError(
                (self._owner, owner),
                f"both drive the whole process call: {self._owner} to {self._purpose}, "
                f"{owner} to {purpose}; one would bypass the other",
                f"remove {owner} or {self._owner}",
            )
        self._owner, self._purpose, self._runner = owner, purpose, runner

    async def run(self, call: Coroutine[Any, Any, BaseModel]) -> BaseModel:
        if self._runner is None:
            return await call
        return await self._runner(call)
