"""``onexgen migrate``: apply the SQL migrations (also done at worker start)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="apply database migrations (safe to run twice)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from onexgen.settings import load_settings
    from onexgen.storage.migrate import migrate

    settings = load_settings()
    applied = asyncio.run(migrate(settings.database_url.get_secret_value()))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0
