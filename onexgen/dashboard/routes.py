"""aiohttp routes for the worker's web server: dashboard, its JSON, health and readiness.

``add_routes(app, dashboard=..., health=..., ready=...)`` adds:

* ``GET /dashboard`` - the HTML page; it fetches ``dashboard.json`` every
  second and redraws (relative URL, so it also works behind a path prefix);
* ``GET /dashboard.json`` - :meth:`Dashboard.snapshot`;
* ``GET /health`` - every check (200 when no critical check failed, else 503);
* ``GET /ready`` - 200 only when ``ready()`` (the worker finished starting)
  and no critical check failed, else 503.

The HTML is a static file (``page.html``) read once: no template engine, no
user input rendered on the server; the page escapes what it inserts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from aiohttp import web

from onexgen.dashboard.snapshot import Dashboard
from onexgen.observability.health import HealthChecker

__all__ = ["add_routes", "dashboard_html"]

_NO_CACHE = {"Cache-Control": "no-store"}


@cache
def _page() -> str:
    return (resources.files("onexgen.dashboard") / "page.html").read_text(
        encoding="utf-8")


def dashboard_html(snapshot: dict[str, Any] | None = None, *, interval_ms: int = 1000) -> str:
    """The page; with ``snapshot`` it is a static report (no polling) for ``--format html``."""
    page = _page()
    if snapshot is None:
        setup = f"<script>window.DASHBOARD_INTERVAL_MS = {int(interval_ms)};</script>"
    else:
        data = json.dumps(snapshot).replace("</", "<\\/")  # no early </script> from a value
        setup = f"<script>window.DASHBOARD_SNAPSHOT = {data};</script>"
    return page.replace('<script>\n"use strict";', setup + '\n<script>\n"use strict";', 1)


def add_routes(app: web.Application, *, dashboard: Dashboard | None = None,
               health: HealthChecker | None = None,
               ready: Callable[[], bool] = lambda: True, interval_ms: int = 1000) -> None:
    """Register the routes on ``app`` (before it starts); omitted parts are not routed."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=dashboard_html(interval_ms=interval_ms),
                            content_type="text/html", headers=_NO_CACHE)

    async def snapshot(_: web.Request) -> web.Response:
        assert dashboard is not None
        return web.json_response(await dashboard.snapshot(), headers=_NO_CACHE)

    async def health_view(_: web.Request) -> web.Response:
        assert health is not None
        report = await health.run()
        return web.json_response(report.as_dict(), status=200 if report.ready else 503,
                                 headers=_NO_CACHE)

    async def ready_view(_: web.Request) -> web.Response:
        started = ready()
        body: dict[str, Any] = {"ready": started}
        if started and health is not None:
            report = await health.run()
            body = {"ready": report.ready, "status": report.status,
                    "failed": [c.name for c in report.checks if c.status == "failed"]}
        return web.json_response(body, status=200 if body["ready"] else 503,
                                 headers=_NO_CACHE)

    if dashboard is not None:
        app.router.add_get("/dashboard", page)
        app.router.add_get("/dashboard.json", snapshot)
    if health is not None:
        app.router.add_get("/health", health_view)
    app.router.add_get("/ready", ready_view)
