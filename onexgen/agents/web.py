"""The worker's HTTP server: ``/metrics`` for Prometheus, ``/health`` and ``/ready``.

TLS and basic auth on every route come from ONEXGEN_WEB_CONFIG_FILE (``webauth``).

Our own aiohttp server rather than Faust's web component, so that it serves the
same routes whatever Faust's web settings are, and starts before the agents.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from onexgen.agents.webauth import WebSecurity, load_web_config
from onexgen.observability.metrics import render_metrics
from onexgen.settings import Settings

log = structlog.get_logger("onexgen.web")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

RouteHook = Callable[[web.Application, Callable[[], bool]], None]
"""Adds routes to the app before it starts; gets the worker's "started" predicate."""


class WebServer:
    """``/metrics`` here; ``/health``, ``/ready`` and the dashboard come from route hooks."""

    def __init__(self, settings: Settings, registry: CollectorRegistry,
                 ready: Callable[[], bool]) -> None:
        self._settings = settings
        self._registry = registry
        self._ready = ready
        self._runner: web.AppRunner | None = None
        self.route_hooks: list[RouteHook] = []
        self.port = settings.web_port
        path = settings.web_config_file
        self.security = load_web_config(path) if path is not None else WebSecurity()
        """TLS and basic auth (ONEXGEN_WEB_CONFIG_FILE); loaded here so a bad file stops
        the start."""

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.security.middleware()]
                              if self.security.users else [])
        app.router.add_get("/metrics", self._metrics)
        for hook in self.route_hooks:
            hook(app, self._ready)
        if not self.route_hooks:
            app.router.add_get("/health", self._health)
            app.router.add_get("/ready", self._readiness)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        host = self._settings.web_host
        if not self.security.users and not _loopback(host):
            log.warning("web_unauthenticated", host=host, fix="set ONEXGEN_WEB_CONFIG_FILE "
                        "with basic_auth_users (and tls_server_config), or bind to loopback")
        site = web.TCPSite(self._runner, host, self._settings.web_port,
                           ssl_context=self.security.ssl_context)
        await site.start()
        server: Any = site._server  # aiohttp has no public API for the bound port
        sockets = server.sockets if server is not None else []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        payload, content_type = render_metrics(self._registry, request.headers.get("Accept"))
        resp = web.Response(body=payload)
        resp.headers["Content-Type"] = content_type
        return resp

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readiness(self, _: web.Request) -> web.Response:
        ready = self._ready()
        return web.json_response({"ready": ready}, status=200 if ready else 503)
