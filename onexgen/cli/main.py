"""The ``onexgen`` command line.

Each command lives in ``onexgen.cli.<name>`` and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function ``(args) -> int``. Every bad argument ends in one line on stderr that
names the fix and exit code 2; a failure of a real service (Kafka, Postgres)
ends in one line and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError

from onexgen import __version__

COMMAND_MODULES = ("worker", "migrate", "topics", "submit", "tail", "schema", "generate",
                   "patterns", "mixins", "alerts", "dashboard", "templates")


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"onexgen: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="onexgen", description="Kafka-native code generation for ONEX nodes.")
    parser.add_argument("--version", action="version", version=f"onexgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser,
                                metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"onexgen.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        print(f"onexgen: configuration error in ONEXGEN_{field.upper()}: {first['msg']}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the operator; the traceback helps nobody here
        from onexgen.cli.errors import describe

        print(f"onexgen: {describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
