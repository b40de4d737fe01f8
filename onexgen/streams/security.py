"""Why a connection to Kafka failed, in one line naming the setting to fix.

aiokafka reports every failed bootstrap as "Unable to bootstrap"; the cause (a refused
login, a certificate the CA file does not vouch for, a plaintext client at a TLS listener)
is only logged. ``diagnose`` opens one connection to the first bootstrap server with the
same settings and translates what breaks into a ``KafkaAccessError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from onexgen.settings import Settings
from onexgen.streams.errors import KafkaAccessError
from onexgen.support.certificates import out_of_date

_TLS_PROTOCOLS = ("SSL", "SASL_SSL")
_OUT_OF_DATE = {9, 10}  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED


def _first_server(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.kafka_bootstrap.split(",")[0].strip().rpartition(":")
    return host.strip("[]"), int(port)


async def _speaks_tls(host: str, port: int, timeout_s: float) -> bool:
    """Whether the listener completes a TLS handshake (certificate not checked: a probe)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    return True


async def diagnose(settings: Settings, timeout_s: float = 10.0) -> KafkaAccessError | None:
    """The access problem at the first bootstrap server, or None when a connection works."""
    host, port = _first_server(settings)
    where = f"Kafka at {host}:{port}"
    kwargs: dict[str, Any] = settings.kafka_client_kwargs()
    user = settings.kafka_sasl_username
    protocol = settings.kafka_security_protocol
    stale = settings.kafka_ssl_certfile and out_of_date(settings.kafka_ssl_certfile)
    if stale:  # the broker's refusal of it would read like a broken connection
        return KafkaAccessError(f"{where}: the client certificate ONEXGEN_KAFKA_SSL_CERTFILE="
                                f"{settings.kafka_ssl_certfile} {stale}: renew it")
    try:
        conn = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(timeout_s * 1000), **kwargs),
            timeout_s)
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in _OUT_OF_DATE:
            return KafkaAccessError(
                f"{where}: its certificate failed verification ({exc.verify_message}): "
                "renew it in the broker's keystore (ssl.keystore.location, or listener.name."
                "<listener>.ssl.keystore.location); ONEXGEN_KAFKA_SSL_CAFILE="
                f"{settings.kafka_ssl_cafile} is not the cause")
        return KafkaAccessError(
            f"{where}: its certificate failed verification ({exc.verify_message}): "
            f"check ONEXGEN_KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile} (the CA that signed "
            "the broker's certificate) and that the certificate is current")
    except ssl.SSLError as exc:
        return KafkaAccessError(
            f"{where}: TLS handshake failed ({exc.reason}): the listener may not speak TLS; "
            f"check ONEXGEN_KAFKA_SECURITY_PROTOCOL={protocol} and ONEXGEN_KAFKA_BOOTSTRAP")
    except SaslAuthenticationFailed:
        return KafkaAccessError(
            f"{where}: login refused for user {user!r} ({settings.kafka_sasl_mechanism}): "
            "check ONEXGEN_KAFKA_SASL_USERNAME and ONEXGEN_KAFKA_SASL_PASSWORD")
    except UnsupportedSaslMechanismError:
        return KafkaAccessError(
            f"{where}: the broker does not offer {settings.kafka_sasl_mechanism}: "
            "check ONEXGEN_KAFKA_SASL_MECHANISM")
    except (KafkaError, IllegalSaslStateError, OSError, TimeoutError) as exc:
        if protocol not in _TLS_PROTOCOLS and await _speaks_tls(host, port, timeout_s):
            return KafkaAccessError(
                f"{where}: the listener speaks TLS and this client does not: set "
                "ONEXGEN_KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SSL) and "
                f"ONEXGEN_KAFKA_SSL_CAFILE (now ONEXGEN_KAFKA_SECURITY_PROTOCOL={protocol})")
        return KafkaAccessError(
            f"cannot reach {where} ({type(exc).__name__}): start it with `make stack-up` or "
            "check ONEXGEN_KAFKA_BOOTSTRAP and ONEXGEN_KAFKA_SECURITY_PROTOCOL")
    conn.close()
    return None


async def raise_access_error(settings: Settings, exc: BaseException) -> None:
    """Raise what ``diagnose`` finds about a failed start (``from exc``); else return."""
    found = await diagnose(settings)
    if found is not None:
        raise found from exc


async def start_client(settings: Settings, client: Any) -> None:
    """``await client.start()`` for an aiokafka client; a refused start leaves as the
    ``KafkaAccessError`` that names the setting, when ``diagnose`` finds one."""
    try:
        await client.start()
    except KafkaError as exc:
        with contextlib.suppress(KafkaError, OSError):
            await client.stop()
        await raise_access_error(settings, exc)
        raise
