"""Persistence mixins: Connection, and Transaction and Repository which extend it.

Because Transaction and Repository *are* Connections (subclasses), listing
Connection before either makes Python's MRO impossible; the runtime reports
that as a CompositionError saying to list the subclass first. Connection does
I/O, so a COMPUTE node refuses it (and both subclasses) at construction.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from onex_runtime.component import MixinBase
from onex_runtime.connection import InMemoryConnection
from onex_runtime.context import NODE_TYPES, NodeContext

_IO_TYPES = NODE_TYPES - {"compute"}


class ConnectionMixin(MixinBase):
    """Owns one connection: opened on start, closed on stop, reported in health."""

    node_types: ClassVar[frozenset[str]] = _IO_TYPES
    node_type_reason: ClassVar[str] = "COMPUTE nodes are pure and do no I/O, and Connection does"
    connection: InMemoryConnection

    def _component_setup(self) -> None:
        factory = self.config.connection_factory or InMemoryConnection
        self.connection = factory()
        self.resources.declare("connection", "io", "Connection")

    async def _component_start(self) -> None:
        await self.connection.open()

    async def _component_stop(self) -> None:
        await self.connection.close()

    def _component_health(self) -> tuple[str, str, str]:
        is_open = self.connection.is_open
        return "connection", "healthy" if is_open else "unhealthy", "open" if is_open else "closed"


class TransactionMixin(ConnectionMixin):
    """Runs each call in a transaction: all writes commit together or roll back on error."""

    stateful: ClassVar[bool] = True
    node_type_reason: ClassVar[str] = (
        "COMPUTE nodes are pure and stateless, and Transaction keeps a journal and does I/O")

    def _component_setup(self) -> None:
        self.resources.declare("transaction_journal", "state", "Transaction")

    async def handle(self, input_data: BaseModel, context: NodeContext) -> BaseModel:
        async with self.connection.transaction():
            output = await super().handle(input_data, context)
        context.annotations["transaction"] = "committed"
        return output


class RepositoryMixin(ConnectionMixin):
    """CRUD over one table of the connection (``repository_table``)."""

    stateful: ClassVar[bool] = True
    node_type_reason: ClassVar[str] = (
        "COMPUTE nodes are pure and stateless, and Repository stores records and does I/O")
    repository_table: ClassVar[str] = ""

    def _component_setup(self) -> None:
        self.resources.declare("repository", "state", "Repository")

    @property
    def table(self) -> str:
        return self.repository_table or type(self).__name__.lower()

    async def save(self, entity_id: str, record: dict[str, Any]) -> None:
        await self.connection.put(self.table, entity_id, record)

    async def find(self, entity_id: str) -> dict[str, Any] | None:
        found = await self.connection.get(self.table, entity_id)
        return dict(found) if isinstance(found, dict) else None

    async def remove(self, entity_id: str) -> bool:
        return await self.connection.delete(self.table, entity_id)

    async def find_all(self) -> list[tuple[str, dict[str, Any]]]:
        return [(k, dict(v)) for k, v in await self.connection.scan(self.table)]
