"""Error translation: every driver/socket failure becomes the storage error a caller acts on."""

from __future__ import annotations

import asyncpg
import pytest

from onexgen.storage.errors import (
    ConnectionRejected,
    ConstraintViolation,
    DatabaseUnavailable,
    InvalidData,
    QueryError,
    QueryTimeout,
    SchemaMismatch,
    StorageError,
    TransientConflict,
    redact_dsn,
    translate,
    translated,
)


@pytest.mark.parametrize(
    ("exc", "expected", "retryable"),
    [
        (ConnectionRefusedError(111, "Connection refused"), DatabaseUnavailable, True),
        (ConnectionResetError(104, "reset by peer"), DatabaseUnavailable, True),
        (TimeoutError(), DatabaseUnavailable, True),
        (asyncpg.TooManyConnectionsError("too many clients"), DatabaseUnavailable, True),
        (asyncpg.CannotConnectNowError("starting up"), DatabaseUnavailable, True),
        (asyncpg.AdminShutdownError("terminating"), DatabaseUnavailable, True),
        (asyncpg.ConnectionDoesNotExistError("gone"), DatabaseUnavailable, True),
        (asyncpg.InterfaceError("cannot perform operation: connection is closed"),
         DatabaseUnavailable, True),
        (asyncpg.SerializationError("could not serialize"), TransientConflict, True),
        (asyncpg.DeadlockDetectedError("deadlock"), TransientConflict, True),
        (asyncpg.QueryCanceledError("statement timeout"), QueryTimeout, True),
        (asyncpg.InvalidPasswordError("bad password"), ConnectionRejected, False),
        (asyncpg.InvalidCatalogNameError("no database"), ConnectionRejected, False),
        (asyncpg.UndefinedTableError("no table"), SchemaMismatch, False),
        (asyncpg.UndefinedFunctionError("no function"), SchemaMismatch, False),
        (asyncpg.CheckViolationError("check"), ConstraintViolation, False),
        (asyncpg.UniqueViolationError("dup"), ConstraintViolation, False),
        (asyncpg.NotNullViolationError("null"), ConstraintViolation, False),
        (asyncpg.NumericValueOutOfRangeError("range"), InvalidData, False),
        (asyncpg.SyntaxOrAccessError("syntax"), QueryError, False),
        (asyncpg.InterfaceError("pool is misconfigured"), QueryError, False),
    ],
)
def test_translate_driver_error_maps_to_storage_error(
    exc: BaseException, expected: type[StorageError], retryable: bool
) -> None:
    error = translate(exc, "writing things")
    assert type(error) is expected
    assert error.retryable is retryable
    assert str(error).startswith("writing things failed")


def test_translate_sqlstate_error_keeps_sqlstate() -> None:
    error = translate(asyncpg.CheckViolationError("check"), "x")
    assert error.sqlstate == "23514"


def test_translate_storage_error_returns_it_unchanged() -> None:
    original = DatabaseUnavailable("down")
    assert translate(original) is original


def test_translate_messages_name_the_fix() -> None:
    assert "ONEXGEN_DATABASE_URL" in str(translate(ConnectionRefusedError(), "x"))
    assert "run the migrations" in str(translate(asyncpg.UndefinedTableError("t"), "x"))
    assert "max_connections" in str(translate(asyncpg.TooManyConnectionsError("t"), "x"))


def test_translated_block_raising_driver_error_chains_cause() -> None:
    cause = asyncpg.UniqueViolationError("dup")
    with pytest.raises(ConstraintViolation) as info, translated("inserting"):
        raise cause
    assert info.value.__cause__ is cause


def test_translated_block_raising_other_error_passes_it_through() -> None:
    with pytest.raises(KeyError), translated("inserting"):
        raise KeyError("not ours")


def test_redact_dsn_with_password_hides_it() -> None:
    dsn = "postgresql://onexgen:s3cret@127.0.0.1:5432/db"
    assert redact_dsn(dsn) == "postgresql://onexgen:***@127.0.0.1:5432/db"
    assert "s3cret" not in redact_dsn(dsn)


def test_redact_dsn_without_credentials_returns_it_unchanged() -> None:
    assert redact_dsn("postgresql://127.0.0.1/db") == "postgresql://127.0.0.1/db"


def test_redact_dsn_password_in_query_string_is_masked() -> None:
    dsn = "postgresql://onexgen@db.internal/app?password=s3cret&sslpassword=k3y&sslmode=require"
    redacted = redact_dsn(dsn)
    assert "s3cret" not in redacted and "k3y" not in redacted
    assert redacted == ("postgresql://onexgen@db.internal/app?password=***&sslpassword=***"
                        "&sslmode=require")


@pytest.mark.parametrize(("message", "named"), [
    ("no pg_hba.conf entry for host \"127.0.0.1\", no encryption", "TLS connections only"),
    ("connection requires a valid client certificate",
     "add sslcert=<certificate file>&sslkey=<key file>"),
    ('certificate authentication failed for user "w"', "CN must be the role's name"),
])
def test_translate_tls_login_refusal_names_url_parameter(message: str, named: str) -> None:
    error = translate(asyncpg.InvalidAuthorizationSpecificationError(message), "x")
    assert type(error) is ConnectionRejected and not error.retryable
    assert named in str(error) and "ONEXGEN_DATABASE_URL" in str(error)
