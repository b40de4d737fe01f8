"""``onexgen worker``: run one worker in the foreground (SIGINT/SIGTERM drain and stop it)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a worker in the foreground (Ctrl-C stops it)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from onexgen.learning.patterns.embedding import verify_embeddings
    from onexgen.settings import load_settings
    from onexgen.worker import run_worker

    settings = load_settings()
    # Damaged token vectors (EmbeddingError, naming the fix) end the start here, in one
    # line, before topics and migrations: not inside Faust's start, nor in every request.
    # Only their digest: the worker process itself need not hold the 28 MB of vectors.
    verify_embeddings()
    run_worker(settings)
    return 0
