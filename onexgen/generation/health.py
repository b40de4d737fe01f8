"""Generation's health check: the template engine loads, and what its caches report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from onexgen.generation.render import Renderer, default_renderer
from onexgen.observability.health import CheckFn


def template_check(stats: Callable[[], Mapping[str, Any]] | None = None,
                   renderer: Callable[[], Renderer] = default_renderer) -> CheckFn:
    """The template engine loads (current version: of ``renderer``, the pool's when the
    worker uses overlays) and, if given, the caches' own stats."""

    async def check() -> dict[str, Any]:
        renderer_now = await asyncio.to_thread(renderer)
        detail: dict[str, Any] = {"template_version": renderer_now.version}
        if stats is not None:
            detail["caches"] = dict(stats())
        return detail

    return check
