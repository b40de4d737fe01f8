"""Faust's conductor handing a consumed message to its partition's handler, without a lock.

See ``unlocked_dispatch``; part of the Faust adapter (the package docstring lists every
use of Faust's internals).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faust.transport.conductor import Conductor

from onexgen.support.pinned import source_is

log = structlog.get_logger("onexgen.streams.faust")

CONDUCTOR_HANDLER_SHA256 = "9fbc0538097aa4eca6113b99df8d17605ae72a6b5030482f041a183f4cc34df1"
"""Of faust-streaming 0.15.3's ``Conductor._compile_message_handler``, which
``unlocked_dispatch`` reproduces."""


def conductor_handler_is_the_known_one() -> bool:
    """Whether the installed Faust's conductor dispatches as ``unlocked_dispatch`` expects."""
    return source_is(CONDUCTOR_HANDLER_SHA256,
                     getattr(Conductor, "_compile_message_handler", None))


def unlocked_dispatch(callback: Callable[[Any], Awaitable[Any]], app: Any
                      ) -> Callable[[Any], Awaitable[Any]]:
    """``callback`` (Faust's ``Conductor.on_message``) without its lock for each message.

    Faust's handler takes ``_tp_to_callback_lock`` to read one dict entry; the lock only
    guards the mapping while a resubscription rebuilds it across awaits. Read without it
    while nobody holds it (the mapping is whole then; a single-threaded loop cannot
    change it between the check and the read), and through Faust's handler otherwise
    (it waits for the lock, and raises as Faust does for an unknown partition).
    ``callback`` itself when the conductor is not the one this expects.
    """
    conductor = getattr(app, "topics", None)
    lock = getattr(conductor, "_tp_to_callback_lock", None)
    table = getattr(conductor, "_tp_to_callback", None)
    if (callback is not getattr(conductor, "on_message", None) or app.client_only
            or not isinstance(lock, asyncio.Lock) or not isinstance(table, dict)
            or not conductor_handler_is_the_known_one()):
        log.warning("faust_internals_changed", fallback="faust's conductor handler",
                    fix="redo onexgen.streams.faust_internals.unlocked_dispatch")
        return callback
    locked, get = lock.locked, table.get

    async def on_message(message: Any) -> Any:
        if not locked():
            handler = get(message.tp)
            if handler is not None:
                return await handler(message)
        return await callback(message)

    return on_message
