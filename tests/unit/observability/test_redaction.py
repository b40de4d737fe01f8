"""Secrets never reach a log line: sensitive keys, URL credentials, DSN pairs, SecretStr."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import SecretStr

from onexgen.observability.context import log_context
from onexgen.observability.logging import get_logger
from onexgen.observability.redaction import (
    REDACTED,
    is_sensitive_key,
    mask_credentials,
    redact_event,
)
from tests.unit.observability.conftest import ReadLines


@pytest.mark.parametrize("key", ["password", "db_password", "Client-Secret", "access_token",
                                 "authorization", "api_key", "X-Api-Key", "dsn", "database_url"])
def test_sensitive_key_when_checked_is_sensitive(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["topic", "max_tokens", "token_count", "request_id", "author"])
def test_ordinary_key_when_checked_is_not_sensitive(key: str) -> None:
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://onexgen:hunter2@127.0.0.1:5432/db", "postgresql://onexgen:***@127.0.0.1:5432/db"),
    ("redis://:s3cr3t@cache:6379/0", "redis://:***@cache:6379/0"),
    ("connect to amqp://u:p@h and https://x:y@z/a", "connect to amqp://u:***@h and https://x:***@z/a"),
    ("host=db user=onexgen password=hunter2 dbname=x",
     "host=db user=onexgen password=*** dbname=x"),
    ("https://h/cb?code=1&access_token=abc.def", "https://h/cb?code=1&access_token=***"),
    ("postgresql://onexgen@127.0.0.1/db", "postgresql://onexgen@127.0.0.1/db"),
    ("user@example.com wrote a=b", "user@example.com wrote a=b"),
])
def test_mask_credentials_when_text_has_credentials_masks_only_them(
    text: str, expected: str,
) -> None:
    assert mask_credentials(text) == expected


def test_redact_event_when_nested_leaves_caller_objects_untouched() -> None:
    config: dict[str, Any] = {"kafka": {"sasl_password": "pw", "bootstrap": "h:9092"}, "hosts": ["a://u:p@h"]}
    event = redact_event({"config": config, "event": "x"})

    assert event["config"]["kafka"] == {"sasl_password": REDACTED, "bootstrap": "h:9092"}
    assert event["config"]["hosts"] == ["a://u:***@h"]
    assert config["kafka"]["sasl_password"] == "pw"


def test_log_line_when_values_hold_secrets_shows_none(log_lines: ReadLines) -> None:
    log = get_logger("t")
    with log_context(database_url="postgresql://onexgen:hunter2@db/onexgen"):
        log.info("connecting to postgresql://onexgen:hunter2@db/onexgen",
                 password="hunter2", api_key="k-123", settings=SecretStr("hunter2"),
                 nested={"auth": {"token": "hunter2"}}, target="postgresql://a:hunter2@b/c")
    [line] = log_lines()
    raw = str(line)

    assert "hunter2" not in raw and "k-123" not in raw
    assert line["password"] == REDACTED
    assert line["database_url"] == REDACTED
    assert line["settings"] == "**********"
    assert line["target"] == "postgresql://a:***@b/c"
    assert line["event"] == "connecting to postgresql://onexgen:***@db/onexgen"


def test_log_line_when_same_keys_repeat_still_masks_new_url(log_lines: ReadLines) -> None:
    log = get_logger("t")
    log.info("first", target="plain")  # the keys become known-safe: the fast path is taken
    log.info("second", target="postgresql://a:hunter2@b/c")
    log.info("third", target={"password": "hunter2"})
    assert [line["target"] for line in log_lines()] == [
        "plain", "postgresql://a:***@b/c", {"password": REDACTED}]


def test_stdlib_record_when_args_hold_dsn_masks_credentials(log_lines: ReadLines) -> None:
    logging.getLogger("asyncpg").warning("cannot connect to %s", "postgres://u:hunter2@h/db",
                                         extra={"password": "hunter2"})
    [line] = log_lines()
    assert line["event"] == "cannot connect to postgres://u:***@h/db"
    assert line["password"] == REDACTED


def test_mask_credentials_sslpassword_pair_is_masked() -> None:
    text = "connect host=db sslmode=verify-full sslpassword=k3y sslkey=/etc/key.pem"
    masked = mask_credentials(text)
    assert "k3y" not in masked and "sslpassword=***" in masked and "/etc/key.pem" in masked
