"""The pool's end of a pipe on the event loop speaks ``multiprocessing.Connection``'s
framing both ways, whatever the sizes and however the bytes arrive, and reports the end."""

from __future__ import annotations

import asyncio
import threading
from multiprocessing.connection import Connection
from typing import Any

from onexgen.procpool import channel
from onexgen.procpool.channel import Channel, pipe


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.closed: list[str] = []
        self.changed = asyncio.Event()

    def message(self, value: Any) -> None:
        self.messages.append(value)
        self.changed.set()

    def ended(self, reason: str) -> None:
        self.closed.append(reason)
        self.changed.set()

    async def until(self, condition: Any) -> None:
        async with asyncio.timeout(20):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def _opened() -> tuple[Channel, Connection, _Inbox]:
    """A channel on this loop over a new pipe, the pipe's other end, and what it received."""
    ours, theirs = pipe()
    inbox = _Inbox()
    return Channel(asyncio.get_running_loop(), ours, inbox.message, inbox.ended), theirs, inbox


async def test_messages_of_every_size_from_a_connection_arrive_whole_and_in_order() -> None:
    ch, theirs, inbox = _opened()
    # Larger than the read buffer (it grows), a few bytes, and many small ones at once.
    sent: list[Any] = [b"x" * (3 * channel.BUFFER + 5), "small", *range(200), ("end", None)]

    def write_all() -> None:
        for message in sent:
            theirs.send(message)

    writer = threading.Thread(target=write_all)
    writer.start()
    await inbox.until(lambda: len(inbox.messages) == len(sent))
    writer.join()
    assert inbox.messages == sent and inbox.closed == []
    ch.close()
    theirs.close()


async def test_messages_sent_on_the_channel_are_read_by_a_connection_in_order() -> None:
    ch, theirs, inbox = _opened()
    big = b"y" * (20 * channel.BUFFER)  # more than the kernel buffer: the rest waits
    for message in (("jobs", [(b"a", "c")]), big, None):
        ch.send(message)
    got = [await asyncio.to_thread(theirs.recv) for _ in range(3)]
    assert got == [("jobs", [(b"a", "c")]), big, None]
    assert inbox.messages == [] and inbox.closed == []  # the other end is still open
    ch.close()
    theirs.close()


async def test_the_other_end_closing_is_reported_once_and_stops_reading() -> None:
    ch, theirs, inbox = _opened()
    theirs.send("last words")
    theirs.close()
    await inbox.until(lambda: inbox.closed)
    assert inbox.messages == ["last words"] and inbox.closed == ["end of file"]
    assert ch.closed
    ch.send("ignored")  # a closed channel drops what it is given, without raising
    ch.close()


async def test_a_handler_closing_the_channel_stops_the_rest_of_the_messages() -> None:
    ours, theirs = pipe()
    inbox = _Inbox()

    def first_only(value: Any) -> None:
        inbox.message(value)
        ch.close()

    ch = Channel(asyncio.get_running_loop(), ours, first_only, inbox.ended)
    for message in ("one", "two", "three"):
        theirs.send(message)
    await inbox.until(lambda: inbox.messages)
    assert inbox.messages == ["one"] and inbox.closed == []
    theirs.close()
