"""Postgres storage: asyncpg pool, versioned SQL migrations, one repository per table family.

Start with ``await migrate(dsn)`` (idempotent, safe from several workers), then
``db = await Database.open(dsn)`` and use ``db.events``, ``db.generation``,
``db.templates``, ``db.feedback``, ``db.mixins`` and ``db.views``. Every failure
leaves this package as a ``storage.errors.StorageError``.
"""

from onexgen.storage.errors import (
    ConstraintViolation,
    DatabaseUnavailable,
    MigrationError,
    StorageError,
)
from onexgen.storage.migrate import migrate
from onexgen.storage.partitions import drop_expired_partitions, ensure_partitions
from onexgen.storage.pool import Database, create_pool

__all__ = [
    "ConstraintViolation",
    "Database",
    "DatabaseUnavailable",
    "MigrationError",
    "StorageError",
    "create_pool",
    "drop_expired_partitions",
    "ensure_partitions",
    "migrate",
]
