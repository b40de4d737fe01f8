"""``onexgen templates``: tools for template authors (overlays of the built-in templates).

    onexgen templates list [DIR...]      the effective set and the layer of each file
    onexgen templates export DIR         the built-in templates, as a starting point
    onexgen templates check DIR...       every node type and a spread of mixin sets, through
                                         the whole validation; exit 1 when any fails
    onexgen templates diff DIR           the overlay against the built-ins (--exit-code: 1
                                         when it changes any, as ``git diff``)

``list`` without directories shows what ``ONEXGEN_TEMPLATE_DIRS`` gives the worker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from onexgen.cli.generate import _fail  # one line on stderr, exit 2: as `generate` says it

EXIT_OK, EXIT_FAILED = 0, 1


def register(sub: Any) -> None:
    p = sub.add_parser("templates", help="template overlays: list, export, check, diff")
    actions = p.add_subparsers(dest="templates_command", required=True, parser_class=type(p),
                               metavar="ACTION")
    lst = actions.add_parser("list", help="the effective templates and the layer of each")
    lst.add_argument("directories", type=Path, nargs="*", metavar="DIR",
                     help="overlay directories, first wins (default: ONEXGEN_TEMPLATE_DIRS)")
    lst.set_defaults(handler=handle_list)
    exp = actions.add_parser("export", help="copy the built-in templates into DIR")
    exp.add_argument("directory", type=Path, metavar="DIR")
    exp.add_argument("--force", action="store_true", help="overwrite files that exist")
    exp.set_defaults(handler=handle_export)
    chk = actions.add_parser("check", help="render every node type and a spread of mixin sets "
                             "through the whole validation")
    chk.add_argument("directories", type=Path, nargs="+", metavar="DIR",
                     help="overlay directories, first wins")
    chk.add_argument("--no-compose", action="store_true",
                     help="skip the composition stage (importing and running each package)")
    chk.set_defaults(handler=handle_check)
    dif = actions.add_parser("diff", help="an overlay against the built-in templates")
    dif.add_argument("directory", type=Path, metavar="DIR")
    dif.add_argument("--exit-code", action="store_true",
                     help="exit 1 when the overlay changes or adds any template")
    dif.set_defaults(handler=handle_diff)


def _missing(directories: list[Path]) -> str | None:
    bad = next((d for d in directories if not d.is_dir()), None)
    return f"{bad} is not a directory; give an overlay directory" if bad is not None else None


def handle_list(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from onexgen.generation.template_tools import effective_files
    from onexgen.settings import Settings

    directories: list[Path] = args.directories
    if not directories:
        try:
            directories = list(Settings().template_layers)
        except ValidationError as exc:
            return _fail(f"ONEXGEN_TEMPLATE_DIRS is invalid: {exc.errors()[0]['msg']}")
    if problem := _missing(directories):
        return _fail(problem)
    for item in effective_files([d.resolve() for d in directories]):
        print(f"{item.name:<28} {'overlay ' + str(item.layer) if item.layer else 'built-in'}")
    return EXIT_OK


def handle_export(args: argparse.Namespace) -> int:
    from onexgen.generation.template_tools import export_builtins

    try:
        written = export_builtins(args.directory, force=args.force)
    except FileExistsError as exc:
        return _fail(str(exc))
    print(f"wrote {len(written)} templates to {args.directory}; edit the ones to change and "
          "delete the rest (they fall through to the built-ins)")
    return EXIT_OK


def handle_check(args: argparse.Namespace) -> int:
    from onexgen.generation.errors import GenerationError
    from onexgen.generation.template_tools import check_overlays

    if problem := _missing(args.directories):
        return _fail(problem)
    try:
        count, failures = check_overlays([d.resolve() for d in args.directories],
                                         composition=not args.no_compose)
    except GenerationError as exc:
        return _fail(f"the templates do not load: {exc}")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{count - len(failures)} of {count} sample requests generated valid packages")
    return EXIT_FAILED if failures else EXIT_OK


def handle_diff(args: argparse.Namespace) -> int:
    from onexgen.generation.template_tools import diff_overlay

    if problem := _missing([args.directory]):
        return _fail(problem)
    changed = False
    for line in diff_overlay(args.directory):
        changed = True
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
    if not changed:
        print(f"{args.directory} changes no built-in template")
    return EXIT_FAILED if changed and args.exit_code else EXIT_OK
