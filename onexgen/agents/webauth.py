"""TLS and basic auth for the worker's endpoints, from an exporter-toolkit web config file.

The same file format Prometheus and its exporters read (``--web.config.file``)::

    tls_server_config:
      cert_file: server.crt        # relative paths are relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
      client_ca_file: ca.crt
      min_version: TLS12
    basic_auth_users:
      prometheus: $2b$12$...       # bcrypt hash (htpasswd -B, or python -m bcrypt)

With ``basic_auth_users``, every endpoint answers 401 without valid credentials. A hash
is checked with bcrypt once per distinct credential; later requests with the same one are
compared to a keyed digest kept in memory (as exporter-toolkit caches), so scrapes do not
pay bcrypt's deliberate cost each time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml
from aiohttp import web

from onexgen.agents.errors import WebConfigError

_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"}
_CLIENT_AUTH = {"NoClientCert": ssl.CERT_NONE, "RequestClientCert": ssl.CERT_OPTIONAL,
                "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
                "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class WebSecurity:
    """What the web server applies: a server TLS context and the basic-auth users."""

    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _verified: set[bytes] = field(default_factory=set)

    def _digest(self, user: str, password: bytes) -> bytes:
        return hmac.new(self._key, user.encode() + b"\0" + password, hashlib.sha256).digest()

    def allows(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries a configured user's password."""
        if not self.users:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, sep, password = base64.b64decode(header[6:], validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        name = user.decode("utf-8", "replace")
        hashed = self.users.get(name)
        if not sep or hashed is None:
            return False
        digest = self._digest(name, password)
        if digest in self._verified:
            return True
        if bcrypt.checkpw(password, hashed):
            self._verified.add(digest)
            return True
        return False

    def middleware(self) -> Any:
        @web.middleware
        async def require_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not self.allows(request.headers.get("Authorization")):
                return web.Response(status=401, text="Unauthorized\n",
                                    headers={"WWW-Authenticate": 'Basic realm="onexgen"'})
            return await handler(request)

        return require_auth


def _file(base: Path, value: Any, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise WebConfigError(f"web config: tls_server_config.{key} must be a file path")
    path = (base / value) if not Path(value).is_absolute() else Path(value)
    if not path.is_file():
        raise WebConfigError(f"web config: tls_server_config.{key}={path} is not a readable file")
    return path


def _tls(base: Path, tls: Any) -> ssl.SSLContext:
    if not isinstance(tls, dict) or set(tls) - _TLS_KEYS:
        unknown = sorted(set(tls) - _TLS_KEYS) if isinstance(tls, dict) else tls
        raise WebConfigError(f"web config: tls_server_config has unsupported keys {unknown} "
                             f"(supported: {', '.join(sorted(_TLS_KEYS))})")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(_file(base, tls.get("cert_file"), "cert_file"),
                                _file(base, tls.get("key_file"), "key_file"))
    except ssl.SSLError as exc:
        raise WebConfigError(f"web config: cert_file/key_file do not load ({exc.reason}): "
                             "check they are PEM and belong together") from exc
    context.minimum_version = _VERSIONS.get(str(tls.get("min_version", "TLS12")),
                                            ssl.TLSVersion.TLSv1_2)
    auth = str(tls.get("client_auth_type", "NoClientCert"))
    if auth not in _CLIENT_AUTH:
        raise WebConfigError(f"web config: client_auth_type {auth!r} is not one of "
                             f"{', '.join(_CLIENT_AUTH)}")
    context.verify_mode = _CLIENT_AUTH[auth]
    if context.verify_mode != ssl.CERT_NONE:
        context.load_verify_locations(_file(base, tls.get("client_ca_file"), "client_ca_file"))
    return context


def load_web_config(path: Path) -> WebSecurity:
    """Parse an exporter-toolkit web config file; ``WebConfigError`` names what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise WebConfigError(f"ONEXGEN_WEB_CONFIG_FILE={path} cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise WebConfigError(f"ONEXGEN_WEB_CONFIG_FILE={path} must be a YAML mapping")
    unknown = set(raw) - {"tls_server_config", "basic_auth_users", "http_server_config"}
    if unknown:
        raise WebConfigError(f"web config {path}: unsupported keys {sorted(unknown)}")
    security = WebSecurity()
    if raw.get("tls_server_config"):
        security.ssl_context = _tls(path.parent, raw["tls_server_config"])
    users = raw.get("basic_auth_users") or {}
    if not isinstance(users, dict):
        raise WebConfigError(f"web config {path}: basic_auth_users must map user to hash")
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"web config {path}: basic_auth_users.{user} must be a "
                                 "bcrypt hash ($2b$...), not a password")
        security.users[str(user)] = hashed.encode()
    return security
