"""One pool process's pipe, the worker process's end, served by the event loop.

The scheduler runs on the event loop (no thread of its own: every wake-up of a
scheduler thread by the loop's thread and back cost GIL hand-offs, measured in
BENCHMARKS.md, issue 25), so its end of each pipe is a non-blocking socket watched
with ``loop.add_reader``: what is readable is read at once into one buffer, and each
complete message is unpickled and handed on; what cannot be written at once waits
for ``add_writer``. Messages are framed exactly as ``multiprocessing.connection``
frames them (a 4-byte big-endian signed length, or -1 and an 8-byte length), so the
pool process keeps a plain blocking ``Connection``.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

BUFFER = 1 << 20
"""Bytes read at most per wake-up, and the buffer's starting size (it grows to hold a
larger message whole)."""
SOCKET_BUFFER = 1 << 23
"""Kernel buffer asked for each end (capped by ``net.core.wmem_max``): a chunk's answers
(~10 KB a request) fit, so a process never blocks writing them while the loop is busy."""
_LONG = -1  # length prefix of a message of 2 GiB or more: an 8-byte length follows


def pipe() -> tuple[socket.socket, Connection]:
    """(our end, the process's end) of a new pipe with large kernel buffers."""
    ours, theirs = socket.socketpair()
    for end in (ours, theirs):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    theirs.setblocking(True)
    return ours, Connection(theirs.detach())


def frame(message: Any) -> bytes:
    """``message`` pickled and prefixed as ``Connection.recv`` expects."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if len(body) > 0x7FFFFFFF:
        return _LONG.to_bytes(4, "big", signed=True) + len(body).to_bytes(8, "big") + body
    return len(body).to_bytes(4, "big", signed=True) + body


class Channel:
    """Messages to and from one process; ``on_message`` gets each one received, in order,
    and ``on_closed`` (once) the reason the pipe ended: the process exited or died."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 on_message: Callable[[Any], None], on_closed: Callable[[str], None]) -> None:
        sock.setblocking(False)
        self._loop, self._sock, self._fd = loop, sock, sock.fileno()
        self._on_message, self._on_closed = on_message, on_closed
        self._buffer = bytearray(BUFFER)
        self._view = memoryview(self._buffer)
        self._end = 0  # bytes of self._buffer holding received, unparsed data
        self._outbox: deque[memoryview] = deque()
        self.closed = False
        loop.add_reader(self._fd, self._readable)

    def send(self, message: Any) -> None:
        """Queue ``message``; written now if the pipe has room, else when it has (a process
        that died meanwhile is reported by the reading side)."""
        if self.closed:
            return
        data = memoryview(frame(message))
        if not self._outbox:
            try:
                data = data[self._sock.send(data):]
            except BlockingIOError:
                pass
            except OSError:
                return
            if not data:
                return
            self._loop.add_writer(self._fd, self._writable)
        self._outbox.append(data)

    def close(self) -> None:
        """Stop reading and writing and close our end (idempotent; ``on_closed`` not called)."""
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._fd)
        if self._outbox:
            self._loop.remove_writer(self._fd)
            self._outbox.clear()
        self._sock.close()

    def _writable(self) -> None:
        while self._outbox:
            data = self._outbox[0]
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                return
            except OSError:
                self._outbox.clear()
                break
            if sent < len(data):
                self._outbox[0] = data[sent:]
                return
            self._outbox.popleft()
        self._loop.remove_writer(self._fd)

    def _readable(self) -> None:
        try:
            got = self._sock.recv_into(self._view[self._end:])
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._ended(f"{type(exc).__name__}: {exc}")
            return
        if got == 0:
            self._ended("end of file" if self._end == 0 else "end of file inside a message")
            return
        self._end += got
        self._parse()

    def _parse(self) -> None:
        """Unpickle every complete message in the buffer, keep the rest, then hand them on
        (the buffer is consistent before any handler runs, whatever it does)."""
        start, end, view = 0, self._end, self._view
        messages = []
        while end - start >= 4:
            size = int.from_bytes(view[start:start + 4], "big", signed=True)
            head = 4
            if size == _LONG:
                if end - start < 12:
                    break
                size, head = int.from_bytes(view[start + 4:start + 12], "big"), 12
            if end - start < head + size:
                break
            # Only our own pool processes write to this socketpair: not untrusted data.
            messages.append(pickle.loads(view[start + head:start + head + size]))  # noqa: S301
            start += head + size
        if start:  # keep the unparsed tail at the front
            self._buffer[:end - start] = self._buffer[start:end]
        self._end = end - start
        if end - start >= 4 and head + size > len(self._buffer):
            self._grow(head + size)  # a message larger than the buffer: room for it whole
        for message in messages:
            if self.closed:
                return
            self._on_message(message)

    def _grow(self, need: int) -> None:
        bigger = bytearray(max(need, 2 * len(self._buffer)))
        bigger[:self._end] = self._buffer[:self._end]
        self._buffer, self._view = bigger, memoryview(bigger)

    def _ended(self, reason: str) -> None:
        self.close()
        self._on_closed(reason)
