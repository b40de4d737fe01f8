"""Headless Chromium driven over the Chrome DevTools protocol, with aiohttp's WebSocket client.

No driver binary or npm package: Chromium opens a DevTools port
(``--remote-debugging-port=0`` picks a free one and prints it on stderr), we
find the page target through ``/json/list`` and send ``Runtime.evaluate`` over
its WebSocket. Launch flags keep the browser offline from Google services and
away from the user's profile (an empty temporary ``--user-data-dir``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*")
_LISTENING = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium found: `apt-get update && apt-get install -y chromium`",
                pytrace=False)


class Browser:
    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def open(self, url: str, timeout_s: float = 30.0) -> None:
        log = self.profile / "chromium.log"
        with log.open("wb") as stderr:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; never waited on here
                [chromium_binary(), *FLAGS, f"--user-data-dir={self.profile / 'data'}", url],
                stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + timeout_s
        while not self.port:
            found = _LISTENING.search(log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Chromium did not start: {log.read_text()[-2000:]}")
            else:
                await asyncio.sleep(0.05)
        self._session = aiohttp.ClientSession()
        while True:
            async with self._session.get(f"http://127.0.0.1:{self.port}/json/list") as resp:
                pages = [t for t in await resp.json() if t.get("type") == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("Chromium opened no page")
            await asyncio.sleep(0.05)
        self._ws = await self._session.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                                  max_msg_size=0)

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page."""
        assert self._ws is not None
        call_id = next(self._ids)
        await self._ws.send_json({"id": call_id, "method": "Runtime.evaluate",
                                  "params": {"expression": expression, "returnByValue": True}})
        while True:
            message = await self._ws.receive_json(timeout=10)
            if message.get("id") == call_id:
                result = message["result"]
                if "exceptionDetails" in result:
                    raise RuntimeError(f"page error: {result['exceptionDetails']}")
                return result["result"].get("value")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
