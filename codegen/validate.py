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
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import yaml

from models.wire import GeneratedFile, StageOutcome

RUNTIME_ROOT = Path(__file__).resolve().parent.parent
"""Directory holding the ``onex_runtime`` package, put on the child's ``sys.path``."""
_CONTRACT_KEYS = ("name", "version", "node_type", "description", "operations", "mixins")
_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from onex_runtime.smoke import main; sys.exit(main(sys.argv[2:]))")


# libyaml's safe loader when PyYAML was built with it: about 20x faster than the
# pure-Python one, which dominated the cost of validating a package.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _contract_problem(text: str) -> str:
    """Parse and compose the YAML (no Python objects built: half the cost of ``load``),
    refuse any tag beyond YAML's core schema, and check the top-level keys."""
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        return f"contract.yaml is not valid YAML: {' '.join(str(exc).split())}"
    if not isinstance(root, yaml.MappingNode):
        return "contract.yaml is not a mapping"
    foreign = _foreign_tag(root)
    if foreign:
        return f"contract.yaml uses the tag {foreign!r}; only YAML's core tags are allowed"
    keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
    missing = [k for k in _CONTRACT_KEYS if k not in keys]
    if "operations" in missing and "io_operations" in keys:
        missing.remove("operations")
    return f"contract.yaml lacks {', '.join(missing)}" if missing else ""


def _foreign_tag(root: yaml.Node) -> str | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.tag not in _SAFE_TAGS:
            return str(node.tag)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return None


# What PyYAML's safe loader would construct; anything else (``!!python/...``) is refused.
_SAFE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "timestamp", "binary", "map", "seq", "set",
    "omap", "pairs", "merge", "value"))


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
        elif PurePosixPath(item.path).name == "contract.yaml":
            problem = _contract_problem(item.content)
            if problem:
                problems.append(problem)
    if not any(PurePosixPath(f.path).name == "node.py" for f in files):
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
