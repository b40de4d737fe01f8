"""Fixtures for the observability tests: logging captured in memory, context reset."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from structlog.contextvars import clear_contextvars

from onexgen.observability.logging import configure_logging, shutdown_logging

ReadLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Each test starts without bound context and leaves logging as it found it."""
    root = logging.getLogger()
    level = root.level
    clear_contextvars()
    yield
    clear_contextvars()
    shutdown_logging()
    root.setLevel(level)


@pytest.fixture
def log_lines() -> ReadLines:
    """Logging configured at INFO into memory; call the fixture value to read parsed lines."""
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    return read
