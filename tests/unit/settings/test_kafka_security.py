"""Kafka security settings: refused when a protocol would ignore them, passed on otherwise."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from onexgen.settings import Settings, _unquote

SASL: dict[str, Any] = {"kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "u",
        "kafka_sasl_password": "p"}


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
def test_sasl_credentials_with_non_sasl_protocol_are_refused(protocol: str) -> None:
    with pytest.raises(ValidationError, match=f"ONEXGEN_KAFKA_SECURITY_PROTOCOL={protocol} "
                       "does not log in"):
        Settings(kafka_security_protocol=protocol, **SASL)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_ca_file_with_non_tls_protocol_is_refused(protocol: str, tmp_path: Path) -> None:
    extra: dict[str, Any] = SASL if protocol.startswith("SASL") else {}
    with pytest.raises(ValidationError, match="ONEXGEN_KAFKA_SSL_CAFILE set, but"):
        Settings(kafka_security_protocol=protocol, kafka_ssl_cafile=tmp_path / "ca.crt",
                 **extra)


def test_sasl_protocol_without_password_names_missing_setting() -> None:
    with pytest.raises(ValidationError, match="needs ONEXGEN_KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_sasl_username="u")


def test_sasl_ssl_kwargs_carry_credentials_and_verifying_context() -> None:
    kwargs = Settings(kafka_security_protocol="SASL_SSL", **SASL).kafka_client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert (kwargs["sasl_mechanism"], kwargs["sasl_plain_username"],
            kwargs["sasl_plain_password"]) == ("SCRAM-SHA-512", "u", "p")
    context = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_missing_ca_file_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "nope.crt")
    with pytest.raises(FileNotFoundError, match="ONEXGEN_KAFKA_SSL_CAFILE="):
        settings.kafka_client_kwargs()


def test_plaintext_kwargs_have_no_credentials() -> None:
    assert Settings().kafka_client_kwargs() == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize(("raw", "value"), [("'a&b'", "a&b"), ("a", "a"), ("'", "'"),
                                             ("''", "")])
def test_stack_env_values_lose_their_shell_quotes(raw: str, value: str) -> None:
    assert _unquote(raw) == value
