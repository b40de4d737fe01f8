"""The web config file: parsed like exporter-toolkit's, refused with the key named."""

from __future__ import annotations

import base64
from pathlib import Path

import bcrypt
import pytest

from onexgen.agents.errors import WebConfigError
from onexgen.agents.webauth import load_web_config


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  prom: '{hashed}'\n")
    return path


def test_right_credentials_allowed_and_wrong_ones_refused(config: Path) -> None:
    security = load_web_config(config)
    assert security.allows(_basic("prom", "s3cret"))
    assert security.allows(_basic("prom", "s3cret"))  # the cached path
    assert not security.allows(_basic("prom", "s3cre"))
    assert not security.allows(_basic("other", "s3cret"))
    assert not security.allows(None)
    assert not security.allows("Basic !!notbase64")
    assert not security.allows("Bearer x")


def test_plain_password_instead_of_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  prom: hunter2\n")
    with pytest.raises(WebConfigError, match=r"basic_auth_users\.prom must be a bcrypt hash"):
        load_web_config(path)


def test_unknown_tls_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert: a\n")
    with pytest.raises(WebConfigError, match=r"unsupported keys \['cert'\]"):
        load_web_config(path)


def test_missing_cert_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n")
    with pytest.raises(WebConfigError, match=r"cert_file=.*nope\.crt is not a readable file"):
        load_web_config(path)


def test_no_users_allows_everything(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("{}\n")
    assert load_web_config(path).allows(None)
