"""Where rendered log lines go: one byte-oriented sink per process.

structlog and the stdlib bridge both hand finished JSON lines (bytes ending in
``\\n``) to the same sink, so ordering, rotation and locking live in one place.

A :class:`FileSink` writes through an unbuffered ``FileIO`` (``O_APPEND``:
lines stay whole even when a forked child writes too). The ``write(2)`` per
line is the largest single cost of a log call (~1.5 us here), so by default
lines below WARNING are collected and written together at most
``flush_interval_s`` later (or once 64 KiB are pending); ``write_now`` (used for
WARNING and above) writes at once, together with anything pending, so an error
and the lines leading to it are on disk before the call returns. A SIGKILL can
lose at most ``flush_interval_s`` of INFO/DEBUG lines; ``flush_interval_s=0``
writes every line through.

Rotation reuses the stdlib handlers' ``doRollover`` (file naming, backup
pruning, the time arithmetic of ``TimedRotatingFileHandler``); the sink only
decides *when*, from a byte counter or a deadline, instead of the stdlib's
format-and-seek per record.
"""

from __future__ import annotations

import io
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Protocol

_MAX_PENDING = 64 * 1024


class Sink(Protocol):
    """A destination for complete, newline-terminated log lines."""

    def write(self, line: bytes) -> None:
        """Write ``line``, possibly a little later."""

    def write_now(self, line: bytes) -> None:
        """Write ``line`` and everything before it before returning."""

    def flush(self) -> None: ...

    def finish(self) -> None:
        """Process exit: write what is pending; lines logged later go out at once."""

    def close(self) -> None: ...

    def reinit_after_fork(self) -> None: ...


class StreamSink:
    """Writes each line at once to an open stream (stderr, a test's ``StringIO``...).

    Text streams with a binary ``buffer`` are written through it (no decode);
    pure text streams such as ``io.StringIO`` get decoded lines.
    """

    __slots__ = ("_flush", "_lock", "_text", "_write")

    def __init__(self, stream: IO[str] | IO[bytes]) -> None:
        self._lock = threading.Lock()
        target: Any = stream
        binary = isinstance(stream, io.RawIOBase | io.BufferedIOBase)
        buffer = getattr(stream, "buffer", None)
        if not binary and buffer is not None:
            stream.flush()  # anything already in the text layer goes first
            target, binary = buffer, True
        self._text = not binary
        self._write = target.write
        self._flush = target.flush

    def write(self, line: bytes) -> None:
        data: bytes | str = line.decode("utf-8", "replace") if self._text else line
        with self._lock:
            self._write(data)
            self._flush()

    write_now = write

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def close(self) -> None:
        """The stream belongs to the caller: flush, never close."""
        self.flush()

    finish = close

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()


class FileSink:
    """Appends lines to a file, rotating by size or by time.

    Size rotation follows ``RotatingFileHandler``: ``path.1`` .. ``path.N`` with
    ``N = backup_count``; ``max_bytes <= 0`` or ``backup_count == 0`` disables it
    (the stdlib would reopen the same file forever). Time rotation
    (``rotate_when`` such as ``"midnight"`` or ``"H"``) follows
    ``TimedRotatingFileHandler`` in UTC, like the timestamps, and wins over size.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        backup_count: int,
        rotate_when: str | None = None,
        flush_interval_s: float = 0.2,
    ) -> None:
        self.path = path.resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._rotator: (
            logging.handlers.RotatingFileHandler | logging.handlers.TimedRotatingFileHandler | None
        ) = None
        self._timed: logging.handlers.TimedRotatingFileHandler | None = None
        self._max_bytes = 0
        if rotate_when:
            self._rotator = self._timed = logging.handlers.TimedRotatingFileHandler(
                self.path, when=rotate_when, backupCount=backup_count,
                encoding="utf-8", delay=True, utc=True,
            )
        elif max_bytes > 0 and backup_count > 0:
            self._rotator = logging.handlers.RotatingFileHandler(
                self.path, maxBytes=max_bytes, backupCount=backup_count,
                encoding="utf-8", delay=True,
            )
            self._max_bytes = max_bytes
        self._pending = bytearray()  # copying in lets each line's bytes be freed at once
        self._file = io.FileIO(self.path, "ab")
        self._size = os.fstat(self._file.fileno()).st_size  # on disk + pending
        self._deferred = flush_interval_s > 0
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if self._deferred:
            self._flusher = threading.Thread(
                target=self._flush_every, args=(flush_interval_s,),
                name="onexgen-log-flush", daemon=True,
            )
            self._flusher.start()

    def write(self, line: bytes) -> None:
        size = len(line)
        with self._lock:
            if self._file.closed:  # a logger raced configure_logging/shutdown: keep the line
                _last_resort(line)
                return
            if (
                self._max_bytes and self._size and self._size + size >= self._max_bytes
            ) or (self._timed is not None and self._timed.rolloverAt <= time.time()):
                self._rollover()
            self._size += size
            if self._deferred:
                self._pending += line
                if len(self._pending) >= _MAX_PENDING:
                    self._drain()
            else:
                written = self._file.write(line)
                if written is not None and written < size:
                    self._write_all(line[written:])

    def write_now(self, line: bytes) -> None:
        self.write(line)
        self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._drain()

    def _drain(self) -> None:
        """Write the pending lines in one call (lock held)."""
        try:
            self._write_all(self._pending)
        finally:
            self._pending.clear()

    def _write_all(self, data: bytes | bytearray) -> None:
        """``FileIO.write`` may write less than asked (a signal, a full disk): loop."""
        with memoryview(data) as view:
            written = self._file.write(view) or 0
            while written < len(view):
                written += self._file.write(view[written:]) or 0

    def _rollover(self) -> None:
        """Finish the current file, let the stdlib rotate it, start a new one (lock held)."""
        rotator = self._rotator
        assert rotator is not None  # only called when a rotation policy exists
        if self._pending:
            self._drain()
        self._file.close()
        try:
            rotator.doRollover()
        finally:
            self._file = io.FileIO(self.path, "ab")
            self._size = os.fstat(self._file.fileno()).st_size

    def _flush_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()

    def _stop_flusher(self) -> None:
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)

    def finish(self) -> None:
        """At exit the file stays open: later atexit handlers may still log."""
        self._stop_flusher()
        with self._lock:
            self._deferred = False
            if self._pending and not self._file.closed:
                self._drain()

    def close(self) -> None:
        self._stop_flusher()
        with self._lock:
            if self._file.closed:
                return
            if self._pending:
                self._drain()
            self._file.close()
            if self._rotator is not None:
                self._rotator.close()

    def reinit_after_fork(self) -> None:
        """In a forked child: no flusher thread survives, so write every line through.

        Lines the parent had pending are the parent's to write, not the child's.
        """
        self._lock = threading.Lock()
        self._pending.clear()
        self._deferred = False
        self._flusher = None


def _last_resort(line: bytes) -> None:
    stream = sys.__stderr__
    if stream is not None:
        stream.write(line.decode("utf-8", "replace"))
        stream.flush()


class Router:
    """The one indirection between loggers and the current sink.

    structlog caches loggers on first use, so a cached logger must not hold a
    sink: ``configure_logging`` swaps ``sink`` here and every logger, cached or
    not, writes to the new destination.
    """

    __slots__ = ("sink",)

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def replace(self, sink: Sink) -> Sink:
        """Install ``sink`` and return the previous one (the caller closes it)."""
        old, self.sink = self.sink, sink
        return old
