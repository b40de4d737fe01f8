"""The worker's event loop follows ``ONEXGEN_EVENT_LOOP``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from onexgen.settings import Settings
from onexgen.worker import use_event_loop


@pytest.fixture
def restore_policy() -> Iterator[None]:
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


@pytest.mark.usefixtures("restore_policy")
@pytest.mark.parametrize(("kind", "loop_class"), [("uvloop", uvloop.Loop),
                                                   ("asyncio", asyncio.BaseEventLoop)])
def test_new_loops_are_of_the_chosen_kind(kind: str, loop_class: type) -> None:
    use_event_loop(Settings(event_loop=kind).event_loop)
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, loop_class)
        assert isinstance(loop, uvloop.Loop) == (kind == "uvloop")
    finally:
        loop.close()


def test_an_unknown_loop_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"uvloop.*asyncio"):
        Settings(event_loop="trio")
