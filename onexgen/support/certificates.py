"""Whether a client certificate file is current, before a connection depends on it.

A server that refuses an expired client certificate does not say so to the client: under
TLS 1.3 the refusal comes after the handshake, and Postgres merely closes the connection
("connection was closed in the middle of operation", which reads like an outage). Reading
the certificate's dates first turns that into one line naming the file and the setting.
"""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime
from pathlib import Path


def _dates(path: Path) -> tuple[float, float] | None:
    """notBefore and notAfter of the first certificate in the PEM file; None if unreadable."""
    try:
        # Private: the standard library parses certificates only through this helper (the public
        # API reads peers' certificates, not files), and `cryptography` is no dependency.
        decoded = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
    except (OSError, ssl.SSLError, ValueError):
        return None
    return (ssl.cert_time_to_seconds(decoded["notBefore"]),
            ssl.cert_time_to_seconds(decoded["notAfter"]))


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def out_of_date(path: Path, now: float | None = None) -> str | None:
    """Why the certificate in ``path`` cannot be used now ("expired on ..."), or None when
    it is current or cannot be read (the TLS library then reports the file itself)."""
    dates = _dates(path)
    if dates is None:
        return None
    now = time.time() if now is None else now
    not_before, not_after = dates
    if now > not_after:
        return f"expired on {_day(not_after)}"
    if now < not_before:
        return f"is not valid before {_day(not_before)}"
    return None
