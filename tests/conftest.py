"""Fixtures shared by the whole suite.

Integration tests need the real Kafka broker and Postgres that ``make test``
starts (addresses in ``.local/stack.env`` or ``ONEXGEN_*`` variables). They
never skip: without the services they fail with a message naming the fix.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from onexgen.settings import stack_value
from tests.harness import scratch_database


def _stack_value(name: str) -> str:
    value = stack_value(name)
    if value:
        return value
    pytest.fail(f"{name} is not set and .local/stack.env is missing: run `make stack-up` "
                "(or `make test`, which starts the stack)", pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _stack_value("ONEXGEN_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def database_url() -> str:
    """The server's URL; tests that write use ``fresh_database_url`` instead."""
    return _stack_value("ONEXGEN_DATABASE_URL")


@pytest.fixture
async def fresh_database_url(database_url: str) -> AsyncIterator[str]:
    """A new, empty database on the real server, dropped after the test."""
    async with scratch_database(database_url, "t") as url:
        yield url


@pytest.fixture
def unique_prefix() -> str:
    """A topic prefix and group id no other test shares."""
    return f"t{uuid.uuid4().hex[:10]}"
