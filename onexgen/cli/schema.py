"""``onexgen schema export DIR``: JSON Schemas for producers written in other languages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from onexgen.models.wire import WIRE_MODELS, schema_of


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in WIRE_MODELS:
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema_of(name), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="JSON Schemas of the wire messages")
    actions = p.add_subparsers(dest="schema_command", required=True, parser_class=type(p),
                               metavar="ACTION")
    e = actions.add_parser("export", help="write one <name>.schema.json per message")
    e.add_argument("directory", type=Path)
    e.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    for path in export_schemas(args.directory):
        print(path)
    return 0
