"""Storage errors: every asyncpg/socket failure leaves this package as one of these.

Callers decide by type, not by message: ``retryable`` errors (the database is
down, restarting, overloaded, or a transaction lost a race) are worth another
attempt with backoff; the others are bugs or operator work and must surface.

    StorageError                      root; ``retryable`` says whether to retry
     ├── DatabaseUnavailable          refused/lost/timed out, too many connections (retry)
     ├── TransientConflict            serialization failure, deadlock (retry the transaction)
     ├── QueryTimeout                 statement_timeout or cancel (retry, then look at load)
     ├── ConnectionRejected           wrong password, unknown database or role (fix the DSN)
     ├── SchemaMismatch               table/column/function missing (run migrations)
     ├── ConstraintViolation          a CHECK/unique/not-null constraint refused a row (a bug)
     ├── InvalidData                  a value Postgres cannot store (a bug)
     ├── MigrationError               a migration file failed or changed after being applied
     └── QueryError                   anything else Postgres or the driver reported
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from onexgen.observability.redaction import mask_credentials


class StorageError(Exception):
    """Root of every storage failure; ``retryable`` tells callers whether to back off and retry."""

    retryable = False

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class DatabaseUnavailable(StorageError):
    """Postgres cannot be reached or refuses new work right now; retry with backoff."""

    retryable = True


class TransientConflict(StorageError):
    """The transaction lost a race (serialization failure, deadlock); rerun it."""

    retryable = True


class QueryTimeout(StorageError):
    """The statement hit ``command_timeout``/``statement_timeout`` or was cancelled."""

    retryable = True


class ConnectionRejected(StorageError):
    """The server answered but refused the login: the DSN is wrong, retrying will not help."""


class SchemaMismatch(StorageError):
    """The schema lacks an object the code uses: migrations have not run."""


class ConstraintViolation(StorageError):
    """A constraint refused a row: the code wrote something the schema forbids."""


class InvalidData(StorageError):
    """Postgres could not store a value (bad type, out of range, bad encoding)."""


class MigrationError(StorageError):
    """A migration failed, or an applied migration file was edited afterwards."""


class QueryError(StorageError):
    """Any other database error; the message carries Postgres' own text."""


_SCHEMA_STATES = {"42P01", "42703", "42883", "42704", "3F000"}
_CONFLICT_STATES = {"40001", "40P01"}
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "55006"}
_REJECTED_STATES = {"3D000"}


def translate(exc: BaseException, action: str = "talking to Postgres") -> StorageError:
    """Map an asyncpg/socket exception to the storage error a caller can act on.

    ``action`` says what was being done ("writing event_processing_metrics"); it
    starts the message. Use as ``raise translate(exc, action) from exc``.
    """
    if isinstance(exc, StorageError):
        return exc
    detail = f"{type(exc).__name__}: {exc}"
    state = getattr(exc, "sqlstate", None)
    state = state if isinstance(state, str) else None
    if isinstance(exc, asyncpg.PostgresError) and state is not None:
        if state.startswith("28"):
            rejected = _refused_tls(str(exc), action, detail, state)
            if rejected is not None:
                return rejected
        return _from_sqlstate(state, action, detail)
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code in _OUT_OF_DATE:
            return ConnectionRejected(
                f"{action} failed: the server's certificate failed verification "
                f"({exc.verify_message}); renew it on the server (its ssl_cert_file); "
                "sslrootcert= in ONEXGEN_DATABASE_URL is not the cause")
        return ConnectionRejected(
            f"{action} failed: the server's certificate failed verification "
            f"({exc.verify_message}); check sslrootcert= in ONEXGEN_DATABASE_URL (the CA "
            "that signed it) and that the certificate is current")
    if isinstance(exc, ssl.SSLError):
        return ConnectionRejected(
            f"{action} failed: TLS with Postgres failed ({detail}); check sslmode=, "
            "sslcert= and sslkey= in ONEXGEN_DATABASE_URL")
    if isinstance(exc, FileNotFoundError | PermissionError):
        return ConnectionRejected(
            f"{action} failed: a TLS file named in ONEXGEN_DATABASE_URL cannot be read "
            f"({detail}); check sslrootcert=, sslcert= and sslkey=")
    if isinstance(exc, OSError | TimeoutError):
        return DatabaseUnavailable(
            f"{action} failed: cannot reach Postgres ({detail}); check that the server is up "
            "and ONEXGEN_DATABASE_URL points at it; the call can be retried"
        )
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        return DatabaseUnavailable(
            f"{action} failed: the connection was closed ({detail}); the call can be retried"
        )
    return QueryError(f"{action} failed: {detail}", sqlstate=state)


_OUT_OF_DATE = {9, 10}  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED


def _refused_tls(message: str, action: str, detail: str, state: str
                 ) -> ConnectionRejected | None:
    """The login refusals pg_hba's ``hostssl`` and ``cert`` rules give, naming the fix."""
    if "no encryption" in message:
        return ConnectionRejected(
            f"{action} failed: Postgres takes TLS connections only ({detail}); add "
            "sslmode=verify-full&sslrootcert=<CA file> to ONEXGEN_DATABASE_URL", sqlstate=state)
    if "requires a valid client certificate" in message:
        return ConnectionRejected(
            f"{action} failed: Postgres requires a client certificate for this role "
            f"({detail}); add sslcert=<certificate file>&sslkey=<key file> to "
            "ONEXGEN_DATABASE_URL", sqlstate=state)
    if "certificate authentication failed" in message:
        return ConnectionRejected(
            f"{action} failed: Postgres refused the client certificate for this role "
            f"({detail}); its CN must be the role's name (or be mapped in pg_ident.conf): "
            "check sslcert= and sslkey= in ONEXGEN_DATABASE_URL", sqlstate=state)
    return None


def _from_sqlstate(state: str, action: str, detail: str) -> StorageError:
    if state.startswith("08") or state.startswith("53") or state in _UNAVAILABLE_STATES:
        return DatabaseUnavailable(
            f"{action} failed: Postgres is unavailable or out of connections ({detail}); "
            "retry with backoff; if it persists check the server log and max_connections "
            "against the pool sizes of all workers",
            sqlstate=state,
        )
    if state in _CONFLICT_STATES:
        return TransientConflict(
            f"{action} failed: transaction conflict ({detail}); rerun the transaction",
            sqlstate=state,
        )
    if state == "57014":
        return QueryTimeout(
            f"{action} failed: statement timed out or was cancelled ({detail}); retry, and if "
            "it keeps happening look for lock waits (pg_stat_activity) or raise the timeout",
            sqlstate=state,
        )
    if state.startswith("28") or state in _REJECTED_STATES:
        return ConnectionRejected(
            f"{action} failed: Postgres refused the login ({detail}); fix the user, password "
            "or database name in ONEXGEN_DATABASE_URL",
            sqlstate=state,
        )
    if state in _SCHEMA_STATES:
        return SchemaMismatch(
            f"{action} failed: the schema is missing an object ({detail}); run the migrations "
            "(`onexgen db migrate` or storage.migrate.migrate(dsn)) against this database",
            sqlstate=state,
        )
    if state.startswith("23"):
        return ConstraintViolation(
            f"{action} failed: a row broke a table constraint ({detail}); this is a bug in the "
            "writer, report it with this message",
            sqlstate=state,
        )
    if state.startswith("22"):
        return InvalidData(
            f"{action} failed: Postgres could not store a value ({detail}); this is a bug in "
            "the writer, report it with this message",
            sqlstate=state,
        )
    return QueryError(f"{action} failed: {detail}", sqlstate=state)


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Translate driver and socket errors raised inside the block (the package boundary)."""
    try:
        yield
    except StorageError:
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise translate(exc, action) from exc


def redact_dsn(dsn: str) -> str:
    """The DSN without its passwords (in the authority, or ``password=`` / ``sslpassword=``
    in the query string), fit for messages and logs; the log redactor's own rules."""
    return mask_credentials(dsn)
