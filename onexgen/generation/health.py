"""Generation's health check: the template engine loads, and what its caches report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from onexgen.generation.render import default_renderer
from onexgen.observability.health import CheckFn


def template_check(stats: Callable[[], Mapping[str, Any]] | None = None) -> CheckFn:
    """The template engine loads (current version) and, if given, the caches' own stats."""

    async def check() -> dict[str, Any]:
        renderer = await asyncio.to_thread(default_renderer)
        detail: dict[str, Any] = {"template_version": renderer.version}
        if stats is not None:
            detail["caches"] = dict(stats())
        return detail

    return check
