"""Validate generated code: syntax in-process, composition for real in a subprocess.

``validate_syntax`` compiles every ``.py`` file and loads ``contract.yaml``; it
is cheap and safe (compiling never runs code). ``check_composition_for_real``
writes the package to a temporary directory and, in a separate interpreter
(``python -I -m onex_runtime.smoke``), imports the node, constructs it and runs
its generated test. The child gets its own process group and is killed on
timeout, so hung or hostile generated code cannot outlive the check. The
outcome's ``detail`` is the real reason: the CompositionError message or the
last line of the traceback, which the learning component trains on.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import yaml

from onexgen.models.wire import GeneratedFile, StageOutcome


def _runtime_root() -> Path:
    """The directory holding the installed ``onex_runtime`` package (its own distribution)."""
    spec = importlib.util.find_spec("onex_runtime")
    if spec is None or spec.origin is None:
        raise ImportError("onex_runtime is not installed: pip install onexgen-runtime")
    return Path(spec.origin).resolve().parent.parent


RUNTIME_ROOT = _runtime_root()
"""Put on the child's ``sys.path``: the child runs isolated (``-I``), without our environment."""
_CONTRACT_KEYS = ("name", "version", "node_type", "description", "operations", "mixins")
_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from onex_runtime.smoke import main; sys.exit(main(sys.argv[2:]))")


def _yaml_events(text: str) -> Callable[[], Any]:
    """A function returning the next parse event, or None after the last.

    libyaml's parser straight from PyYAML's C extension when it was built with
    it (the pure-Python parser is about 20x slower): the same events ``yaml.parse``
    gives with ``CSafeLoader``, without building a loader's constructor and
    resolver for every contract.
    """
    if _CParser is not None:
        return cast(Callable[[], Any], _CParser(text).get_event)
    return functools.partial(next, iter(yaml.parse(text, Loader=yaml.SafeLoader)), None)


def _tag_problem(tag: str) -> str:
    if tag == "!" or tag in _SAFE_TAGS:
        return ""
    return f"contract.yaml uses the tag {tag!r}; only YAML's core tags are allowed"


def _construct_problem(text: str) -> str:
    """Load with the safe loader (only for the rare contract with explicit tags)."""
    try:
        yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, ValueError) as exc:
        return f"contract.yaml does not load: {' '.join(str(exc).split())}"
    return ""


def _contract_problem(text: str) -> str:
    """Parse the YAML as events (no nodes or Python objects built: cheaper than ``compose``,
    half the cost of ``load``), refuse any explicit tag beyond YAML's core schema, and
    check that the one document is a mapping with the contract's top-level keys. A
    contract with explicit tags is also loaded, so a tag on the wrong kind of value
    fails here rather than in its reader. Untagged values are not constructed: a
    template that printed a merge key (``<<``), a collection as a key or a bad date
    would pass this check (the templates print quoted strings, numbers and plain keys).

    Events are told apart by exact type, most frequent first (a contract is mostly
    scalars): an ``isinstance`` chain per event cost a fifth of the check.
    """
    keys: set[str] = set()
    anchors: set[str] = set()
    tagged = False  # an explicit tag: its value must also construct (``!!int [1]`` does not)
    depth = documents = items = 0  # items: entries seen in the top-level mapping
    next_event = _yaml_events(text)
    try:
        while (event := next_event()) is not None:
            kind = type(event)
            if kind is _SCALAR or kind is _MAPPING_START or kind is _SEQUENCE_START:
                if event.tag is not None:
                    if problem := _tag_problem(event.tag):
                        return problem
                    tagged = True
                if event.anchor is not None:
                    anchors.add(event.anchor)
            elif kind is _ALIAS:
                if event.anchor not in anchors:
                    return f"contract.yaml is not valid YAML: undefined alias {event.anchor!r}"
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                depth -= 1
                continue
            else:
                if kind is _DOCUMENT_START:
                    documents += 1
                    if documents > 1:
                        return "contract.yaml holds more than one document"
                continue
            # A node: a scalar, an alias or the start of a collection.
            if depth == 0 and kind is not _MAPPING_START:
                return "contract.yaml is not a mapping"
            if depth == 1:
                if items % 2 == 0 and kind is _SCALAR:
                    keys.add(event.value)
                items += 1
            if kind is _MAPPING_START or kind is _SEQUENCE_START:
                depth += 1
    except yaml.YAMLError as exc:
        return f"contract.yaml is not valid YAML: {' '.join(str(exc).split())}"
    if documents == 0:
        return "contract.yaml is not a mapping"
    if tagged and (problem := _construct_problem(text)):
        return problem
    missing = [k for k in _CONTRACT_KEYS if k not in keys]
    if "operations" in missing and "io_operations" in keys:
        missing.remove("operations")
    return f"contract.yaml lacks {', '.join(missing)}" if missing else ""


_CParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None)  # None without libyaml
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAPPING_START, _MAPPING_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQUENCE_START, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_DOCUMENT_START = yaml.DocumentStartEvent


# What PyYAML's safe loader would construct; anything else (``!!python/...``) is refused.
_SAFE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "timestamp", "binary", "map", "seq", "set",
    "omap", "pairs", "merge", "value"))


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]  # PurePosixPath(path).name, without building a path


def validate_syntax(files: Sequence[GeneratedFile]) -> StageOutcome:
    """Compile every ``.py`` file and parse ``contract.yaml``; report the first problem."""
    problems: list[str] = []
    for item in files:
        if item.path.endswith(".py"):
            try:
                compile(item.content, item.path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                line = getattr(exc, "lineno", None)
                where = f"{item.path}:{line}" if line else item.path
                problems.append(f"{where}: {type(exc).__name__}: {getattr(exc, 'msg', exc)}")
        elif _basename(item.path) == "contract.yaml":
            problem = _contract_problem(item.content)
            if problem:
                problems.append(problem)
    if not any(_basename(f.path) == "node.py" for f in files):
        problems.append("package has no node.py")
    return StageOutcome(stage="syntax", passed=not problems,
                        detail="; ".join(problems))


def write_package(root: Path, package: str, files: Sequence[GeneratedFile]) -> Path:
    """Write ``files`` under ``root/package``, refusing paths that escape it."""
    target = (root / package).resolve()
    for item in files:
        path = (target / item.path).resolve()
        if not path.is_relative_to(target):
            raise ValueError(f"generated path {item.path!r} escapes the package directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content, encoding="utf-8")
    return target


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def check_composition_for_real(
    files: Sequence[GeneratedFile], timeout: float = 10.0, *, package: str = "generated/v0_0_0",
) -> StageOutcome:
    """Import, construct and smoke-test the package in a child interpreter, within ``timeout``."""
    module = package.strip("/").replace("/", ".")
    with tempfile.TemporaryDirectory(prefix="onexgen-check-") as tmp:
        write_package(Path(tmp), package, files)
        argv = [sys.executable, "-I", "-c", _BOOTSTRAP, str(RUNTIME_ROOT), tmp, module]
        proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and argv, no shell
            argv, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.defpath})
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return StageOutcome(stage="composition", passed=False,
                                detail=f"timed out after {timeout:g}s")
        finally:
            _kill_group(proc)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict):
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return StageOutcome(stage="composition", passed=False,
                            detail=f"checker exited {proc.returncode}: {tail}")
    ok = bool(result.get("ok"))
    detail = "" if ok else f"{result.get('stage')}: {result.get('detail')}"
    return StageOutcome(stage="composition", passed=ok, detail=detail)
