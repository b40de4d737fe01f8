"""Headless Chromium loads /dashboard and sees its numbers change while batches flow."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from onexgen.alerting.engine import RuleEngine
from onexgen.alerting.rules import load_rules
from onexgen.dashboard.routes import add_routes
from onexgen.dashboard.snapshot import Dashboard
from onexgen.observability.health import HealthChecker
from onexgen.observability.monitor import Monitor
from tests.browser.cdp import Browser

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def dashboard_url() -> AsyncIterator[str]:
    monitor = Monitor(CollectorRegistry())
    health = HealthChecker()

    async def ok() -> dict[str, Any]:
        return {}

    health.add("kafka", ok)
    engine = RuleEngine(load_rules(), monitor.value)
    app = web.Application()
    add_routes(app, dashboard=Dashboard(monitor, engine=engine, health=health), health=health,
               interval_ms=250)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    async def traffic() -> None:  # what the batch processor reports, as requests flow
        while True:
            size = random.randint(5, 50)
            monitor.observe_batch(size, 0.05, size - 1, 1, 0,
                                  [random.uniform(20, 400) for _ in range(size)])
            monitor.observe_cache("render", random.randint(60, 100), random.randint(0, 20))
            await asyncio.sleep(0.1)

    feeder = asyncio.create_task(traffic())
    yield f"http://127.0.0.1:{port}/dashboard"
    feeder.cancel()
    await runner.cleanup()


async def _until(check: Callable[[], Coroutine[Any, Any, bool]], timeout_s: float,
                 what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.1)


async def test_dashboard_in_chromium_numbers_change_while_requests_flow(
        dashboard_url: str, tmp_path: Path) -> None:
    browser = Browser(tmp_path)
    try:
        await browser.open(dashboard_url)

        async def text(element: str) -> str:
            return str(await browser.evaluate(
                f"(document.getElementById({element!r}) || {{}}).textContent || ''"))

        seen: list[int] = []

        async def messages_grew() -> bool:
            value = await text("messages")
            if value.isdigit():
                seen.append(int(value))
            return len(set(seen)) >= 3 and seen[-1] > seen[0]

        await _until(messages_grew, 30, "the messages counter to change three times")
        assert (await text("p95")).replace(".", "").isdigit()
        assert (await text("cache")).endswith("%")
        assert await text("health-status") == "ok"
        assert await text("status") == "live"
    finally:
        await browser.close()
