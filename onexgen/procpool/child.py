"""A pool process's side: run the chunks it is sent, answers sent back in groups.

The process keeps a plain blocking ``multiprocessing.connection.Connection``; the
worker process reads and writes the other end on its event loop
(:mod:`onexgen.procpool.channel`, the same framing).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

Item = tuple[Any, ...]
FLUSH_S = 0.05
"""A process sends the answers it has at least this often (and at the end of each chunk)..."""
FLUSH_MIN = 8
"""... once it has this many at least: when jobs slow down (a loaded machine), a group a
job would cost the worker process a message, a wake-up and an unpickling each
(``python -m bench handoff``: 3.6-4.8x ``ProcessPoolExecutor``'s CPU a request at
load average ~30, which sends one message a chunk)."""
INDEX, SINCE = 0, 1
"""Slots of the shared progress array: the running job's number (from 0 since the process
started, across chunks) and its start (``time.monotonic``)."""


def serve(conn: Connection, progress: Any, job: Callable[..., Any],
          initializer: Callable[..., None] | None, initargs: tuple[Any, ...],
          prepare: Callable[[list[Item]], None] | None = None) -> None:
    """Body of a pool process: run chunks (answers sent in groups), run control calls."""
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:  # report any start failure to the parent, then exit
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    started = 0  # jobs begun since the process started: the progress counts across chunks
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        kind, payload = message
        if kind == "jobs":
            run_chunk(conn, progress, job, payload, prepare, started)
            started += len(payload)
        else:
            conn.send(("reply", payload()))


def run_chunk(conn: Connection, progress: Any, job: Callable[..., Any],
              items: list[Item], prepare: Callable[[list[Item]], None] | None = None,
              first: int = 0) -> None:
    """``first``: the number of the chunk's first job since the process started."""
    answers: list[tuple[bool, Any]] = []
    flushed = time.monotonic()
    if prepare is not None:
        # Batch work for the whole chunk (e.g. one vectorised model pass); counted against
        # the first job's timeout, and only an optimisation: jobs work without it.
        progress[SINCE] = flushed
        progress[INDEX] = first
        with contextlib.suppress(Exception):
            prepare(items)
    for index, item in enumerate(items):
        now = time.monotonic()
        if len(answers) >= FLUSH_MIN and now - flushed >= FLUSH_S:
            conn.send(("answers", answers))
            answers, flushed = [], now
        progress[SINCE] = now  # written before the index: the reader checks the index twice
        progress[INDEX] = first + index
        try:
            answers.append((True, job(*item)))
        except Exception as exc:  # a bug in the job must not kill the process
            answers.append((False, f"{type(exc).__name__}: {exc}"))
    conn.send(("answers", answers))
