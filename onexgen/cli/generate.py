"""``onexgen generate REQUEST.json``: render one node package locally, without Kafka.

The same engine as the worker (templates, syntax stage, composition stage in a
child interpreter), so what this writes is what a producer would receive.

- ``--out DIR`` writes the package under ``DIR/<package path>``;
- ``--dry-run`` lists each file's sha256 and path and writes nothing;
- ``--diff DIR`` prints a unified diff against an existing package directory
  (``DIR`` itself or ``DIR/<package path>``); exit 1 when they differ, like diff.

The engine is configured as a worker configures its pool's (``generation.engine.engine_config``):
pattern detection on, the mixin gate with ``ONEXGEN_MIXIN_POLICY`` and
``ONEXGEN_MIXIN_THRESHOLD``, the shipped templates; with ``--stored-models`` it also uses
the newest pattern detector and mixin model stored in ``ONEXGEN_DATABASE_URL``, as a
worker does (without, the shipped defaults: what a worker with an empty model store
uses). So the package written here is byte for byte what a producer would receive.

A request without ``request_id`` gets ``local``. Bad input ends in one line on
stderr that names the fix and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError

if TYPE_CHECKING:
    from onexgen.settings import Settings

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser("generate", help="render a node package from a JSON request, no Kafka")
    p.add_argument("request", type=Path, help="a JSON file holding one generation request")
    p.add_argument("--out", type=Path, help="write the package under this directory")
    p.add_argument("--dry-run", action="store_true",
                   help="list the files and their sha256 without writing")
    p.add_argument("--diff", type=Path, metavar="DIR",
                   help="show a unified diff against an existing package directory")
    p.add_argument("--templates", type=Path, action="append", default=None, metavar="DIR",
                   help="a template overlay directory (repeat for several, first wins); "
                   "default: ONEXGEN_TEMPLATE_DIRS, as the worker uses")
    p.add_argument("--no-check", action="store_true",
                   help="skip the composition stage (importing and running the generated test)")
    p.add_argument("--stored-models", action="store_true",
                   help="use the newest pattern detector and mixin model stored in "
                        "ONEXGEN_DATABASE_URL, as the worker does (default: the shipped ones)")
    p.set_defaults(handler=handle)


async def _stored_models(settings: Settings) -> tuple[bytes | None, bytes | None]:
    """The newest stored mixin model and pattern detector, as bytes (None where none)."""
    from onexgen.learning.mixins.model import to_bytes
    from onexgen.learning.models_store import ModelStore
    from onexgen.learning.patterns.persist import to_bytes as detector_bytes
    from onexgen.storage.pool import Database

    async with await Database.open(settings.database_url.get_secret_value(), min_size=0,
                                   max_size=1, attempts=1) as db:
        store = ModelStore(db.pool)
        mixins = await store.latest_mixin_model() if settings.mixin_policy != "off" else None
        detector = await store.latest_detector()
    return (to_bytes(mixins.model) if mixins else None,
            detector_bytes(detector.detector) if detector else None)


def _fail(message: str) -> int:
    print(f"onexgen: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(path: Path) -> dict[str, Any] | str:
    """The request as a dict, or a one-line error naming the fix."""
    if not path.is_file():
        return f"{path} does not exist; give the path of a JSON request file"
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        return f"{path} is not valid JSON ({exc}); fix the file (one JSON object)"
    if not isinstance(data, dict):
        return f"{path} holds JSON {type(data).__name__}, not an object; give one request object"
    data.setdefault("request_id", "local")
    return data


def _overlays(given: list[Path] | None, settings: Settings) -> tuple[Path, ...] | str:
    """The overlay directories: ``--templates`` if given, else the worker's setting."""
    if given is not None:
        missing = [str(p) for p in given if not p.is_dir()]
        if missing:
            return f"--templates {missing[0]} is not a directory; give an overlay directory"
        return tuple(p.resolve() for p in given)
    return settings.template_layers


def handle(args: argparse.Namespace) -> int:
    from onexgen.generation.engine import Engine, engine_config
    from onexgen.generation.errors import GenerationError
    from onexgen.generation.job import generate
    from onexgen.models.errors import describe_validation_error
    from onexgen.models.wire import GenerationRequest, ResultStatus
    from onexgen.settings import load_settings
    from onexgen.storage.errors import StorageError

    if not (args.out or args.dry_run or args.diff):
        return _fail("say what to do with the package: --out DIR, --dry-run or --diff DIR")
    loaded = _load(args.request)
    if isinstance(loaded, str):
        return _fail(loaded)
    try:
        request = GenerationRequest.model_validate(loaded)
    except ValidationError as exc:
        return _fail(f"{args.request} is not a valid request: {describe_validation_error(exc)}; "
                     "see `onexgen schema export` for the request schema")
    try:
        settings = load_settings()
    except ValidationError as exc:
        return _fail(f"configuration error in the environment: {describe_validation_error(exc)}"
                     "; fix the ONEXGEN_* variable named")
    overlays = _overlays(args.templates, settings)
    if isinstance(overlays, str):
        return _fail(overlays)
    models: tuple[bytes | None, bytes | None] = (None, None)
    if args.stored_models:
        try:
            models = asyncio.run(_stored_models(settings))
        except StorageError as exc:
            return _fail(f"--stored-models: {exc}; set ONEXGEN_DATABASE_URL to the workers' "
                         "database, or leave the option out for the shipped models")
    try:
        engine = Engine(engine_config(settings, composition=not args.no_check,
                                      mixin_model=models[0], pattern_model=models[1],
                                      template_dirs=overlays))
    except GenerationError as exc:
        return _fail(f"the templates do not load: {exc}")
    result = generate(request, "local", engine)
    if result.status is ResultStatus.REJECTED:
        return _fail(f"request rejected: {result.error}")
    if result.status is ResultStatus.FAILED:
        stage = next((s.stage for s in result.stages if not s.passed), "render")
        fix = ("fix the overlay template it names (`onexgen templates check DIR`)"
               if overlays and ".j2" in (result.error or "")
               else "change the mixin set" if stage == "composition"
               else "this is a generator bug, please report it")
        return _fail(f"generated code failed its {stage} stage: {result.error}; {fix}")
    assert result.package is not None  # a succeeded result always names its package
    files = {f.path: f for f in result.files}
    if args.dry_run:
        for path in sorted(files):
            print(f"{files[path].sha256}  {result.package}/{path}")
    if args.out:
        from onexgen.generation.validate import write_package

        target = write_package(args.out, result.package, result.files)
        print(f"wrote {len(files)} files to {target}")
    if args.diff:
        return _diff(args.diff, result.package, {p: f.content for p, f in files.items()})
    return EXIT_OK


def _diff(base: Path, package: str, generated: dict[str, str]) -> int:
    directory = base / package if (base / package).is_dir() else base
    if not directory.is_dir():
        return _fail(f"{base} is not a directory; give the package directory to compare with")
    existing = {p.relative_to(directory).as_posix(): p for p in directory.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    changed = False
    for path in sorted(set(generated) | set(existing)):
        old = existing[path].read_text(encoding="utf-8") if path in existing else ""
        new = generated.get(path, "")
        if old == new:
            continue
        changed = True
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"a/{path}" if path in existing else "/dev/null",
            tofile=f"b/{path}" if path in generated else "/dev/null"))
    if not changed:
        print(f"no differences with {directory}")
    return EXIT_DIFFERENT if changed else EXIT_OK
