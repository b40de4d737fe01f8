"""``onexgen topics``: create the five topics where missing (also done at worker start)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("topics", help="create the topics if missing")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from onexgen.settings import load_settings
    from onexgen.streams.topics import ensure_topics

    created = asyncio.run(ensure_topics(load_settings()))
    print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else ""))
    return 0
