"""POSTing JSON to a webhook with one shared session, and mapping the answer to retry or not.

Webhook and Slack receivers differ only in the body they build; the transport,
timeouts and the status-code policy live here once:

* 2xx: delivered;
* 408, 429, 5xx, connection errors, timeouts: retryable (the other side is
  down, restarting or throttling us);
* any other 4xx: not retryable (wrong URL or token, or a payload it refuses:
  retrying would repeat the same answer forever).

The URL is a secret (Slack and many webhook URLs embed the token), so errors
name the receiver, never the URL.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from onexgen.alerting.errors import DeliveryError

__all__ = ["JsonPoster"]

RETRYABLE_STATUS = frozenset({408, 425, 429})


class JsonPoster:
    """Owns one ``aiohttp.ClientSession``, created on first use in the running loop."""

    def __init__(self, receiver: str, url: str, timeout_s: float) -> None:
        self.receiver = receiver
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, body: Any) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        data = orjson.dumps(body)
        try:
            async with self._session.post(
                    self._url, data=data,
                    headers={"Content-Type": "application/json",
                             "User-Agent": "onexgen-alertmanager"}) as response:
                text = (await response.text())[:200]
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
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
