"""Keep secrets out of log lines.

Two rules, applied to every event (structlog and stdlib alike) just before
rendering:

* values of sensitive *keys* are replaced whole: a key is sensitive when it
  contains ``password``, ``passwd``, ``secret``, ``authorization``,
  ``credential``, ``api_key``/``apikey`` or ``private_key``, or when it is, or
  ends in ``_``, one of ``token``, ``dsn``, ``database_url``, ``db_url``,
  ``cookie``, ``auth``, ``pwd`` (so ``access_token`` is hidden but
  ``max_tokens`` is not);
* credentials inside *string values* are masked: the password of a URL
  (``postgresql://user:pw@host`` -> ``postgresql://user:***@host``) and
  ``password=...``-style pairs (libpq DSNs, query strings).

pydantic ``SecretStr`` values already render as ``'**********'``.

Cost: the key decision is cached per key name (keys are program literals).
The hot path (:func:`is_clean`) never walks the event: all keys already known
safe, and the *rendered* line holding no ``@``, ``=`` or nested ``{`` (a few
``memchr`` in C), proves there is nothing to redact; only other events pay for
:func:`redact_event` and a second rendering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "**********"

_KEY_SUBSTRINGS = (
    "password", "passwd", "secret", "authorization", "credential",
    "api_key", "apikey", "private_key",
)
_KEY_SUFFIXES = ("token", "dsn", "database_url", "db_url", "cookie", "auth", "pwd")
_KEY_CACHE: dict[str, bool] = {}
_SAFE_KEYS: set[str] = set()
_KEY_CACHE_LIMIT = 4096  # keys are literals; a flood of dynamic keys must not grow memory
_MAX_DEPTH = 4
_AT, _EQUALS, _BRACE = ord("@"), ord("="), ord("{")

_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@]+@")
_PAIR_CREDENTIALS = re.compile(
    r"(?i)\b((?:sslpassword|password|passwd|pwd|secret|client_secret|token|access_token|"
    r"refresh_token|api_key|apikey)\s*=\s*)(\"[^\"]*\"|'[^']*'|[^&\s,;]+)"
)


def is_sensitive_key(key: str) -> bool:
    """Whether values stored under ``key`` must never be logged."""
    cached = _KEY_CACHE.get(key)
    if cached is not None:
        return cached
    norm = key.lower().replace("-", "_")
    sensitive = any(s in norm for s in _KEY_SUBSTRINGS) or any(
        norm == s or norm.endswith("_" + s) for s in _KEY_SUFFIXES
    )
    if len(_KEY_CACHE) < _KEY_CACHE_LIMIT:
        _KEY_CACHE[key] = sensitive
        if not sensitive:
            _SAFE_KEYS.add(key)
    return sensitive


def is_clean(event_dict: Mapping[str, Any], line: bytes) -> bool:
    """Whether ``line``, the rendering of ``event_dict``, provably needs no redaction.

    False means "look closer" (:func:`redact_event`), not "contains a secret".
    """
    return (
        _SAFE_KEYS.issuperset(event_dict)
        and _AT not in line  # int needles: a bare memchr, several times cheaper than b"@"
        and _EQUALS not in line
        and line.find(_BRACE, 1) < 0
    )


def mask_credentials(text: str) -> str:
    """``text`` with URL passwords and ``password=...`` values replaced by ``***``."""
    if "@" in text:
        text = _URL_CREDENTIALS.sub(r"\1***@", text)
    if "=" in text:
        text = _PAIR_CREDENTIALS.sub(r"\1***", text)
    return text


def _clean(value: Any, depth: int) -> Any:
    """A redacted copy of ``value``; the caller's containers are never mutated."""
    kind = type(value)
    if kind is str:
        return mask_credentials(value) if ("@" in value or "=" in value) else value
    if depth >= _MAX_DEPTH:
        return value
    if kind is dict:
        return {
            k: REDACTED if isinstance(k, str) and is_sensitive_key(k) else _clean(v, depth + 1)
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [_clean(v, depth + 1) for v in value]
    return value


def redact_event(event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Redact ``event_dict`` in place (it is the logger's private copy) and return it."""
    for key, value in event_dict.items():
        if isinstance(key, str) and is_sensitive_key(key):
            event_dict[key] = REDACTED
            continue
        kind = type(value)
        if kind is str:
            if "@" in value or "=" in value:
                event_dict[key] = mask_credentials(value)
        elif kind is dict or kind is list or kind is tuple:
            event_dict[key] = _clean(value, 1)
    return event_dict
