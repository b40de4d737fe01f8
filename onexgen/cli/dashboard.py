"""``onexgen dashboard``: what a running worker's dashboard shows, on the terminal or as a file.

``--format json`` prints ``/dashboard.json``; ``html`` a self-contained page
with that snapshot embedded (open it anywhere, no worker needed);
``prometheus`` the worker's ``/metrics`` (only ``onexgen_`` series with
``--only-onexgen``). ``--url`` defaults to the local worker.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:6066"


def register(sub: Any) -> None:
    p = sub.add_parser("dashboard", help="show a running worker's dashboard data")
    p.add_argument("--url", default=DEFAULT_URL, help=f"worker base URL (default {DEFAULT_URL})")
    p.add_argument("--format", choices=("json", "html", "prometheus"), default="json")
    p.add_argument("--output", "-o", type=Path, default=None, help="write here instead of stdout")
    p.add_argument("--only-onexgen", action="store_true",
                   help="prometheus format: only onexgen_* series")
    p.add_argument("--timeout", type=float, default=5.0)
    p.set_defaults(handler=handle)


def _get(url: str, timeout: float) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"--url {url!r} must start with http:// or https://")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return bytes(response.read())
    except urllib.error.URLError as exc:
        raise ConnectionError(f"cannot read {url} ({exc.reason}); is a worker running? "
                              "start one with `onexgen worker` or pass --url") from exc


def _series_name(line: str) -> str:
    """The metric a exposition line is about: ``# HELP name ...`` or ``name{...} value``."""
    parts = line.split()
    if line.startswith("#"):
        return parts[2] if len(parts) > 2 else ""
    return parts[0].split("{", 1)[0] if parts else ""


def render(fmt: str, url: str, *, timeout: float = 5.0, only_onexgen: bool = False) -> str:
    base = url.rstrip("/")
    if fmt == "prometheus":
        text = _get(f"{base}/metrics", timeout).decode()
        if only_onexgen:
            text = "".join(line for line in text.splitlines(keepends=True)
                           if _series_name(line).startswith("onexgen_"))
        return text
    snapshot = json.loads(_get(f"{base}/dashboard.json", timeout))
    if fmt == "json":
        return json.dumps(snapshot, indent=2) + "\n"
    from onexgen.dashboard.routes import dashboard_html

    return dashboard_html(snapshot)


def handle(args: argparse.Namespace) -> int:
    try:
        text = render(args.format, args.url, timeout=args.timeout,
                      only_onexgen=args.only_onexgen)
    except (ConnectionError, ValueError) as exc:
        print(f"onexgen: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.format} to {args.output}")
    return 0
