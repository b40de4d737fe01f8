"""Real local receivers for the alerting tests: an HTTP sink (webhook + Slack) and an SMTP sink.

The HTTP sink is an aiohttp server recording every JSON body per path; it can
be switched to answer 503 ("down") and back, which is how the tests take a
receiver away and bring it back. The SMTP sink is aiosmtpd's threaded
controller storing every message it accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import Message
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def repeating(step: Callable[[], Awaitable[None]], every_s: float
                    ) -> AsyncIterator[None]:
    """Run ``step`` now and every ``every_s`` seconds until the block ends (a breach kept
    up while a test waits for its alert); the step in progress finishes first."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


async def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


class HttpSink:
    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.refused = 0
        self.down = False
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return self.received.get(path, [])

    async def _handle(self, request: web.Request) -> web.Response:
        if self.down:
            self.refused += 1
            return web.Response(status=503, text="down for the test")
        self.received.setdefault(request.path, []).append(await request.json())
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
