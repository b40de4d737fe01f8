"""Template overlays: a team's own template directories, searched before the built-ins.

``ONEXGEN_TEMPLATE_DIRS`` lists directories in order; a ``*.j2`` file there replaces the
built-in file of the same name, everything else falls through to the package's
templates. An overlay may add files to every generated package through its
manifest, ``overlay.toml`` (the first layer that has one wins, like any file)::

    name = "acme"          # folded into the template version
    series = "1.2.0"
    [files]                # generated path -> template rendering it
    "CHANGELOG.md" = "CHANGELOG.md.j2"

Templates we did not write get the same safety as ours, plus two rules checked when
they compile: ``{% filter %}`` blocks are refused (a filter applied to a whole block
could undo the escaping of the values inside it), a call prints raw only when
it calls a macro, block or recursive loop (whose own ``{{ }}`` were guarded): any
other callable's text still meets the guard, and no attribute or key starting with
``_`` is looked up (the way to the classes behind the filters' safe text). A broken
overlay file fails the requests that use it with its file and line; it never stops a
process.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from jinja2 import Environment, TemplateError, TemplateSyntaxError, nodes
from jinja2.runtime import BlockReference, LoopContext, Macro

from onexgen.generation.errors import RenderError
from onexgen.generation.filters import Emitted
from onexgen.generation.template_cache import TemplateCache

T = TypeVar("T")

MANIFEST = "overlay.toml"
CALLEE_FILTER = "onexgen_callee"
CALL_BLOCK_FILTER = "onexgen_call_block"
KEY_FILTER = "onexgen_key"
_ATTRIBUTE_FILTERS = frozenset({"attr", "selectattr", "rejectattr", "groupby", "map", "sort",
                                "sum", "unique", "min", "max"})
"""Filters whose arguments name attributes to look up (checked like ``x.name``)."""
_SERIES = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]{0,39}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_OUTPUT = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``overlay.toml`` declares: a name and series for the version, extra files."""

    name: str = "overlay"
    series: str = "0"
    files: dict[str, str] = field(default_factory=dict)
    """Generated path (relative to the package) -> template name."""


def parse_manifest(text: str, filename: str, reserved: Iterable[str] = ()) -> Manifest:
    """The manifest in ``text``; raises :class:`RenderError` naming the file (and line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"{filename}: {exc}; fix the TOML") from exc
    unknown = sorted(set(data) - {"name", "series", "files"})
    if unknown:
        raise RenderError(f"{filename}: unknown keys {unknown}; use name, series and [files]")
    name, series, files = data.get("name", "overlay"), data.get("series", "0"), data.get(
        "files", {})
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RenderError(f"{filename}: name {name!r} must be lower-case letters, digits, '-'")
    if not isinstance(series, str) or not _SERIES.fullmatch(series):
        raise RenderError(f"{filename}: series {series!r} must look like 1.2.0")
    if not isinstance(files, dict):
        raise RenderError(f"{filename}: [files] must map generated paths to template names")
    taken = set(reserved)
    for path, template in files.items():
        if not _OUTPUT.fullmatch(path) or ".." in path.split("/"):
            raise RenderError(f"{filename}: generated path {path!r} must be relative, "
                              "without '..' (letters, digits, '_', '-', '.', '/')")
        if path in taken:
            raise RenderError(f"{filename}: {path!r} is a built-in file; to change it, "
                              "overlay the template it is rendered from")
        if not isinstance(template, str) or not template.endswith(".j2"):
            raise RenderError(f"{filename}: {path!r} must name a .j2 template")
    return Manifest(name, series, dict(files))


class LayeredTemplateCache(TemplateCache[T]):
    """A :class:`TemplateCache` over several directories, the first holding a name winning.

    The hot path (``get``) is the base class's; only listing, path lookup and the
    version differ. The version stays ``<series>+<digest>`` while every file is
    built in, and becomes ``<series>+<overlay name>-<overlay series>.<digest>`` once
    an overlay provides any file (the digest covers every effective file and the
    manifest). Overlay files that do not compile at warm-up are left for the
    requests that use them to report.
    """

    def __init__(self, layers: Sequence[Path], compile: Callable[[str, str, str], T], *,
                 reserved: Iterable[str] = (), **options: Any) -> None:
        """``reserved``: generated paths the manifest may not claim (the built-in files)."""
        if not layers:
            raise ValueError("a layered template cache needs at least the built-in directory")
        self.layers = tuple(p.resolve() for p in layers)
        self._manifest: tuple[str, Manifest | RenderError] | None = None
        self._note: tuple[str, str] = ("", "")
        self.reserved = frozenset(reserved)
        super().__init__(self.layers[-1], compile, **options)

    def _listing(self) -> Iterable[tuple[str, Path]]:
        seen: set[str] = set()
        for directory in self.layers:
            manifest = directory / MANIFEST
            if directory != self.layers[-1] and MANIFEST not in seen and manifest.is_file():
                seen.add(MANIFEST)
                yield MANIFEST, manifest
            if not directory.is_dir():
                continue  # removed while running: its files fall through to the next layer
            for path in directory.rglob("*.j2"):
                name = path.relative_to(directory).as_posix()
                if name not in seen:
                    seen.add(name)
                    yield name, path

    def _path(self, name: str) -> Path:
        for directory in self.layers:
            path = (directory / name).resolve()
            if path.is_relative_to(directory) and path.is_file():
                return path
        raise FileNotFoundError(f"no template {name!r} in {', '.join(map(str, self.layers))}")

    def layer_of(self, path: Path | str) -> Path | None:
        """The overlay directory ``path`` lies in; None for a built-in file."""
        resolved = Path(path)
        return next((d for d in self.layers[:-1] if resolved.is_relative_to(d)), None)

    def overlay_files(self) -> dict[str, Path]:
        """Every effective file that an overlay provides, by name."""
        return {n: s.path for n, s in sorted(self._files.items()) if self.layer_of(s.path)}

    def _digest(self) -> str:
        plain = super()._digest()
        if not any(self.layer_of(s.path) for s in self._files.values()):
            return plain
        manifest = self.manifest_or_error()
        tag = (f"{manifest.name}-{manifest.series}" if isinstance(manifest, Manifest)
               else "overlay-broken")
        series, _, digest = plain.partition("+")
        return f"{series}+{tag}.{digest}"

    def manifest_or_error(self) -> Manifest | RenderError:
        """The effective manifest (parsed once per content), or why it does not parse."""
        state = self._files.get(MANIFEST)
        if state is None:
            return Manifest()
        cached = self._manifest
        if cached is not None and cached[0] == state.sha256:
            return cached[1]
        try:
            source = state.path.read_bytes()
            parsed: Manifest | RenderError = parse_manifest(
                source.decode("utf-8"), str(state.path), self.reserved)
            sha = hashlib.sha256(source).hexdigest()
        except (OSError, UnicodeDecodeError) as exc:
            parsed, sha = RenderError(f"{state.path}: cannot read the manifest ({exc})"), ""
        except RenderError as exc:
            parsed, sha = exc, state.sha256
        self._manifest = (sha, parsed)
        return parsed

    def extra_outputs(self) -> dict[str, str]:
        """Generated path -> template of the manifest's files (raises if it is broken)."""
        manifest = self.manifest_or_error()
        if isinstance(manifest, RenderError):
            raise RenderError(str(manifest))  # a fresh one: re-raising would grow its traceback
        return manifest.files

    def warm(self, names: Iterable[str] | None = None) -> int:
        """Compile every template; an overlay file that fails is left for its requests."""
        chosen = (sorted(n for n in self._files if n.endswith(".j2")) if names is None
                  else list(names))
        for name in chosen:
            try:
                self.get(name)
            except (TemplateError, UnicodeDecodeError, RenderError):
                state = self._files.get(name)
                if state is None or not self.layer_of(state.path):
                    raise
        return len(chosen)


# --- the compile-time rules for overlay templates ---------------------------------------------

def _trusted_callee(value: Any) -> Any:
    """A macro, block or recursive loop prints what its own guarded ``{{ }}`` printed; no
    text class may be called (``Emitted(raw)`` would pass the guard)."""
    if isinstance(value, type) and issubclass(value, str):
        raise RenderError(f"overlay templates may not call {value.__name__}")
    if isinstance(value, Macro | BlockReference | LoopContext):
        def emitting(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            return Emitted(result) if isinstance(result, str) else result
        return emitting
    return value


def _private(key: str) -> bool:
    return any(part.startswith("_") for part in key.split("."))


def _checked_key(value: Any) -> Any:
    """A key or attribute name computed at render time: no private (``_``) names."""
    if isinstance(value, str) and _private(value):
        raise RenderError(f"overlay templates may not look up {value!r} (names starting "
                          "with '_' are private)")
    return value


def _call_block_callee(value: Any) -> Any:
    if not isinstance(value, Macro):
        raise RenderError("a {% call %} block in an overlay template must call a macro")
    return _trusted_callee(value)


OVERLAY_FILTERS: dict[str, Callable[[Any], Any]] = {
    CALLEE_FILTER: _trusted_callee, CALL_BLOCK_FILTER: _call_block_callee,
    KEY_FILTER: _checked_key}
"""Filters the guarded compilation inserts around callees (registered by the Renderer)."""


def _wrap(call: nodes.Call, filter_name: str) -> None:
    call.node = _filtered(call.node, filter_name)


def _filtered(node: nodes.Expr, filter_name: str) -> nodes.Filter:
    return nodes.Filter(node, filter_name, [], [], None, None, lineno=node.lineno)


def _refuse_private(tree: nodes.Template, name: str, filename: str) -> None:
    """No ``x._name``, ``x["_name"]``; computed keys and attribute arguments are checked
    when rendering (``KEY_FILTER``)."""
    def refuse(key: str, lineno: int) -> None:
        raise TemplateSyntaxError(f"overlay templates may not look up {key!r} (names "
                                  "starting with '_' are private)", lineno, name, filename)

    for getattr_ in tree.find_all(nodes.Getattr):
        if _private(getattr_.attr):
            refuse(getattr_.attr, getattr_.lineno)
    for getitem in list(tree.find_all(nodes.Getitem)):
        if isinstance(getitem.arg, nodes.Const):
            if isinstance(getitem.arg.value, str) and _private(getitem.arg.value):
                refuse(getitem.arg.value, getitem.lineno)
        elif not isinstance(getitem.arg, nodes.Slice):
            getitem.arg = _filtered(getitem.arg, KEY_FILTER)
    for filter_ in list(tree.find_all(nodes.Filter)):
        if filter_.name in _ATTRIBUTE_FILTERS:
            filter_.args = [_filtered(a, KEY_FILTER) for a in filter_.args]
        for keyword in filter_.kwargs:
            if keyword.key == "attribute":
                keyword.value = _filtered(keyword.value, KEY_FILTER)


def compile_guarded(env: Environment, source: str, name: str, filename: str) -> Any:
    """Compile an overlay template under the overlay rules (module docstring)."""
    tree = env.parse(source, name, filename)
    blocks = list(tree.find_all(nodes.FilterBlock))
    if blocks:
        raise TemplateSyntaxError(
            "{% filter %} blocks are not allowed in overlay templates (a filter over a block "
            "can undo the escaping inside it); filter each {{ value }} instead",
            blocks[0].lineno, name, filename)
    _refuse_private(tree, name, filename)
    in_blocks = {id(block.call) for block in tree.find_all(nodes.CallBlock)}
    for call in list(tree.find_all(nodes.Call)):
        _wrap(call, CALL_BLOCK_FILTER if id(call) in in_blocks else CALLEE_FILTER)
    return env.compile(tree, name, filename)


# --- naming the template file and line of a failure ------------------------------------------

def template_location(exc: BaseException) -> str:
    """``<template file> line <n>`` where ``exc`` arose in a template, or ``""``."""
    if isinstance(exc, TemplateSyntaxError) and exc.lineno:
        return f"{exc.filename or exc.name} line {exc.lineno}"
    where = ""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:  # Jinja rewrites frames to point at template lines
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{filename} line {tb.tb_lineno}"
        tb = tb.tb_next
    return where


def describe(exc: BaseException) -> str:
    """The error's message, led by its template file and line when known."""
    message = exc.message if isinstance(exc, TemplateSyntaxError) and exc.message else str(exc)
    where = template_location(exc)
    return f"{where}: {message}" if where else message


def overlay_note(cache: TemplateCache[Any]) -> str:
    """Which overlay files a package was rendered with (appended to a failed stage);
    worked out once per template version (it is asked for every package)."""
    if not isinstance(cache, LayeredTemplateCache):
        return ""
    version, note = cache._note
    if version == cache.version:
        return note
    files = cache.overlay_files()
    note = ("" if not files else " (rendered with overlay files "
            + ", ".join(str(p) for p in files.values())
            + "; run `onexgen templates check` on the overlay directory)")
    cache._note = (cache.version, note)
    return note
