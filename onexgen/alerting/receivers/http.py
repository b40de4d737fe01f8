"""POSTing JSON with one shared session, and mapping the answer to retry or not.

Webhook and Slack integrations differ only in the body they build; the
transport, ``http_config`` (basic auth, authorization header, TLS
verification, redirects), timeouts and the status-code policy live here once:

* 2xx: delivered;
* 408, 425, 429, 5xx, connection errors, timeouts: retryable (the other side is
  down, restarting or throttling us);
* any other 4xx: not retryable (wrong URL or token, or a payload it refuses:
  retrying would repeat the same answer forever).

URLs come inline or from a ``*_file`` read at each send, as Alertmanager
reads them (a rotated secret is picked up without a restart). The URL is a
secret (Slack and many webhook URLs embed the token), so errors name the
receiver, never the URL.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from onexgen.alerting.config import HttpConfig
from onexgen.alerting.errors import DeliveryError

__all__ = ["JsonPoster", "read_secret"]

RETRYABLE_STATUS = frozenset({408, 425, 429})


def read_secret(name: str, inline: SecretStr | None, path: Path | None, what: str) -> str:
    """The inline secret, or the first line of its file; a missing file is retryable."""
    if inline is not None:
        return inline.get_secret_value()
    if path is None:
        raise DeliveryError(f"receiver {name!r}: no {what} configured", retryable=False)
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DeliveryError(f"receiver {name!r}: cannot read {what} file {path} "
                            f"({exc.strerror}); will retry") from None


class JsonPoster:
    """Owns one ``aiohttp.ClientSession``, created on first use in the running loop."""

    def __init__(self, receiver: str, url: SecretStr | None, url_file: Path | None,
                 timeout_s: float, http: HttpConfig | None = None) -> None:
        self.receiver = receiver
        self._url = url
        self._url_file = url_file
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http = http or HttpConfig()
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "onexgen-alertmanager"}
        auth = self._http.authorization
        if auth is not None:
            secret = read_secret(self.receiver, auth.credentials, auth.credentials_file,
                                 "authorization credentials")
            headers["Authorization"] = f"{auth.type} {secret}"
        return headers

    def _auth(self) -> aiohttp.BasicAuth | None:
        basic = self._http.basic_auth
        if basic is None:
            return None
        password = "" if basic.password is None and basic.password_file is None else \
            read_secret(self.receiver, basic.password, basic.password_file, "password")
        return aiohttp.BasicAuth(basic.username, password)

    def _ssl(self) -> ssl.SSLContext | bool:
        tls = self._http.tls_config
        if tls is None:
            return True
        if tls.insecure_skip_verify:
            return False
        return ssl.create_default_context(cafile=str(tls.ca_file)) if tls.ca_file else True

    async def post(self, body: Any) -> None:
        url = read_secret(self.receiver, self._url, self._url_file, "URL")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        data = orjson.dumps(body)
        try:
            async with self._session.post(
                    url, data=data, headers=self._headers(), auth=self._auth(),
                    ssl=self._ssl(), allow_redirects=self._http.follow_redirects) as response:
                text = (await response.text())[:200]
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            # not chained: aiohttp's exception text may quote the URL, which is a secret
            raise DeliveryError(f"receiver {self.receiver!r}: cannot deliver "
                                f"({type(exc).__name__}); will retry") from None
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in RETRYABLE_STATUS
        hint = "will retry" if retryable else "check the receiver's URL/token in the config"
        raise DeliveryError(f"receiver {self.receiver!r}: HTTP {status} {text!r}; {hint}",
                            retryable=retryable)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
