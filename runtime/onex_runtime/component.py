"""The root every node base class and every mixin derives from.

``NodeComponent`` fixes the interface mixins wrap (``handle``) and the class
attributes a mixin declares about itself (``requires``, ``incompatible_with``,
``node_types``, ``stateful``). ``NodeMeta`` turns Python's own composition
errors (inconsistent MRO, duplicate bases) into ``CompositionError`` naming
the mixins, so a bad generated class fails with a reason the learning
component can use instead of a bare ``TypeError``.

Class creation checks only what a class *declares it needs* (``requires``)
and that there is one node type; incompatibilities are not looked up in a
table here: they surface from what mixins do at construction and during
``process`` (see ``registries``), which is what makes the runtime the ground
truth the static catalogue is tested against.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from onex_runtime.context import NODE_TYPES, NodeConfig, NodeContext
from onex_runtime.errors import CompositionError
from onex_runtime.registries import HookRegistry, ProcessRunner, ResourceRegistry

MIXIN_CLASSES: dict[str, type[MixinBase]] = {}
"""Every mixin class by its name (``RetryMixin`` -> ``"Retry"``), filled as modules load."""


def _display(cls: type) -> str:
    name = cls.__dict__.get("mixin_name")
    return name if isinstance(name, str) and name else cls.__name__


def _mro_error(name: str, bases: tuple[type, ...], text: str) -> CompositionError:
    """Explain a TypeError from class creation in terms of the mixins involved."""
    if "duplicate base class" in text:
        labels = sorted({_display(b) for b in bases if bases.count(b) > 1})
        return CompositionError(labels, f"{', '.join(labels)} listed more than once in {name}",
                                "list each mixin once")
    for i, early in enumerate(bases):
        for late in bases[i + 1:]:
            if early is not late and issubclass(late, early):
                a, b = _display(early), _display(late)
                return CompositionError(
                    (a, b),
                    f"{a} is listed before {b}, which extends it, so Python cannot build a "
                    f"method resolution order for {name} ({text})",
                    f"list {b} before {a}, or drop {a} ({b} already includes it)",
                )
    labels = [_display(b) for b in bases]
    return CompositionError(labels, f"no consistent method resolution order for {name} ({text})",
                            "put mixins before the node base class")


class NodeMeta(ABCMeta):
    """Metaclass of all components: reports composition TypeErrors as CompositionError."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> NodeMeta:
        try:
            return super().__new__(mcs, name, bases, namespace, **kwargs)
        except CompositionError:
            raise
        except TypeError as exc:
            text = " ".join(str(exc).split())
            if "method resolution order" in text or "duplicate base class" in text:
                raise _mro_error(name, bases, text) from exc
            raise


class NodeComponent(metaclass=NodeMeta):
    """Shared interface of node bases and mixins (what ``super().handle`` reaches)."""

    mixin_name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    incompatible_with: ClassVar[Mapping[str, str]] = {}
    node_types: ClassVar[frozenset[str]] = NODE_TYPES
    stateful: ClassVar[bool] = False
    node_type_reason: ClassVar[str] = ""
    extends: ClassVar[tuple[str, ...]] = ()
    node_type: ClassVar[str] = ""

    # Set by NodeBase.__init__ before any mixin's _component_setup runs.
    config: NodeConfig
    resources: ResourceRegistry
    hooks: HookRegistry
    runner: ProcessRunner
    freeze_requests: list[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.node_type:
            _check_node_class(cls)

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        """One pass through the pipeline; mixins wrap it, the node type ends it."""
        raise NotImplementedError(f"{type(self).__name__} has no node base class")

    @property
    def qualified_name(self) -> str:
        return type(self).__name__


def mixins_of(cls: type) -> list[str]:
    """Names of the mixins in a class's MRO, outermost first."""
    return [k.mixin_name for k in cls.__mro__
            if isinstance(k, type) and issubclass(k, MixinBase) and "mixin_name" in k.__dict__]


def _check_node_class(cls: type[NodeComponent]) -> None:
    """Refuse a node class missing a mixin another one requires, or with two node types."""
    types = {k.__dict__["node_type"] for k in cls.__mro__ if k.__dict__.get("node_type")}
    if len(types) > 1:
        raise CompositionError(sorted(types), f"{cls.__name__} derives from several node types "
                               f"({', '.join(sorted(types))})", "derive from exactly one")
    present = set(mixins_of(cls))
    for name in mixins_of(cls):
        missing = [r for r in MIXIN_CLASSES[name].requires if r not in present]
        if missing:
            adds = ", ".join(f"{m}Mixin" for m in missing)
            raise CompositionError(
                (name, *missing), f"{name} requires {', '.join(missing)}, which {cls.__name__} "
                f"does not include", f"add {adds} to the bases of {cls.__name__}")


class MixinBase(NodeComponent):
    """Base of every mixin: registers it under its name (class name minus ``Mixin``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "mixin_name" not in cls.__dict__ and not cls.node_type:
            cls.mixin_name = cls.__name__.removesuffix("Mixin")
            MIXIN_CLASSES[cls.mixin_name] = cls
        super().__init_subclass__(**kwargs)
