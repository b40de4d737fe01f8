"""Subprocess entry point: import a generated package, construct its node, run its tests.

Usage: ``python -m onex_runtime.smoke <root> <package.module.path>``; prints one
JSON line ``{"ok", "stage", "error_type", "detail", "mixins", "tests"}`` and
exits 0 on success, 1 on failure. It runs in a separate process so that a
generated node that hangs or crashes cannot hurt the service (the parent kills
it on timeout), and so that each check starts from a clean interpreter.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import traceback
from typing import Any

from onex_runtime.base import NodeBase
from onex_runtime.errors import CompositionError


def _failure(stage: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, CompositionError):
        return {"ok": False, "stage": stage, "error_type": type(exc).__name__,
                "detail": str(exc), "mixins": list(exc.mixins)}
    last = " ".join(traceback.format_exception_only(type(exc), exc)[-1].split())
    return {"ok": False, "stage": stage, "error_type": type(exc).__name__, "detail": last,
            "mixins": []}


def _node_class(module: Any) -> type[NodeBase[Any, Any]]:
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, NodeBase)
             and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise LookupError(f"expected one node class in {module.__name__}, found {len(found)}")
    return found[0]


def run(package: str) -> dict[str, Any]:
    """Import, instantiate, then call every ``test_*`` function of ``<package>.test_node``."""
    stage = "import"
    try:
        module = importlib.import_module(f"{package}.node")
        stage = "instantiate"
        _node_class(module)()
        stage = "test"
        tests = importlib.import_module(f"{package}.test_node")
        names = sorted(n for n, f in vars(tests).items() if n.startswith("test_") and callable(f))
        if not names:
            raise LookupError(f"{package}.test_node defines no test_* function")
        for name in names:
            getattr(tests, name)()
    except Exception as exc:
        return _failure(stage, exc)
    return {"ok": True, "stage": "done", "error_type": "", "detail": "", "mixins": [],
            "tests": names}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m onex_runtime.smoke <root> <package>", file=sys.stderr)
        return 2
    root, package = argv
    sys.path.insert(0, root)
    result = run(package)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
