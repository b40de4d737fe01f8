"""An in-memory transactional store standing in for a database connection.

Connection, Transaction and Repository run against it by default, so generated
nodes can be instantiated and smoke-tested without a server; a real service
passes ``NodeConfig(connection_factory=...)`` returning any object with the
same methods. Transactions snapshot the tables and restore them on error,
nested transactions behave like savepoints.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from onex_runtime.errors import ConnectionClosedError


class InMemoryConnection:
    """Tables of key -> value with open/close and snapshot transactions."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.tables: dict[str, dict[str, Any]] = {}
        self.is_open = False
        self.depth = 0
        self.commits = 0
        self.rollbacks = 0

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    def _table(self, table: str) -> dict[str, Any]:
        if not self.is_open:
            raise ConnectionClosedError(
                f"connection {self.name!r} is closed; start the node before using it")
        return self.tables.setdefault(table, {})

    async def get(self, table: str, key: str) -> Any | None:
        return copy.deepcopy(self._table(table).get(key))

    async def put(self, table: str, key: str, value: Any) -> None:
        self._table(table)[key] = copy.deepcopy(value)

    async def delete(self, table: str, key: str) -> bool:
        return self._table(table).pop(key, None) is not None

    async def scan(self, table: str) -> list[tuple[str, Any]]:
        return [(k, copy.deepcopy(v)) for k, v in sorted(self._table(table).items())]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InMemoryConnection]:
        """All writes inside commit together or not at all."""
        if not self.is_open:
            raise ConnectionClosedError(f"connection {self.name!r} is closed; cannot begin")
        snapshot = copy.deepcopy(self.tables)
        self.depth += 1
        try:
            yield self
        except BaseException:
            self.tables = snapshot
            self.rollbacks += 1
            raise
        else:
            self.commits += 1
        finally:
            self.depth -= 1
