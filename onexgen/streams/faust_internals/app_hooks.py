"""Faust app hooks the worker needs and Faust does not offer publicly: starting a service
instance with the app, and letting the app stop without committing held records.

Part of the Faust adapter (the package docstring lists every use of Faust's internals).
"""

from __future__ import annotations

from typing import Any

import faust
import structlog
from mode import ServiceT

log = structlog.get_logger("onexgen.streams.faust")


def add_service(app: faust.App, service: ServiceT) -> None:
    """Start ``service`` (an instance) once ``app`` is fully started; stop it first.

    Falls back to mode's public ``add_dependency`` (started and stopped with the app)
    when Faust's ``_extra_services`` list is gone.
    """
    extra = getattr(app, "_extra_services", None)
    if isinstance(extra, list):
        extra.append(service)  # Faust's on_init_extra_service takes instances too
    else:
        log.warning("faust_internals_changed", fallback="app.add_dependency",
                    fix="redo onexgen.streams.faust_internals.add_service")
        app.add_dependency(service)


def abandon(app: faust.App, events: list[Any]) -> None:
    """Let ``app`` stop without waiting for these consumed records, and without committing
    them (see the module docstring); acknowledges them when Faust's set is gone."""
    unacked = getattr(app.consumer, "_unacked_messages", None)
    if unacked is None or not hasattr(unacked, "discard"):
        log.warning("faust_internals_changed", fallback="acknowledge (commit) the records",
                    fix="redo onexgen.streams.faust_internals.abandon")
        for event in events:
            event.ack()
        return
    for event in events:
        unacked.discard(event.message)
