"""Render a ``GenerationRequest`` into an ONEX node package.

One ``Renderer`` owns one Jinja2 Environment whose templates are compiled once;
``render_package`` uses a process-wide renderer that notices edited templates
(mtime check at most once a second, then a content hash) and rebuilds itself,
so template authors see changes without a restart. The template version is
``<series>+<hash of the template files>``: same request + same templates ->
byte-identical output, and any template edit changes the version.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from codegen.errors import (
    CompositionRejected,
    InvalidOperationError,
    RenderError,
    UnknownMixinError,
)
from codegen.filters import FILTERS, finalize_guard
from models.identifiers import pascal_case, snake_case
from models.wire import GeneratedFile, GenerationRequest, NodeType
from onex_runtime import MIXINS, NodeCompute, NodeEffect, NodeOrchestrator, NodeReducer
from onex_runtime.catalog import check_composition

TEMPLATE_SERIES = "1.0.0"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_OPERATION = ("run", "Run the node's default operation.")
_RECHECK_S = 1.0

_BASES = {NodeType.EFFECT: NodeEffect, NodeType.COMPUTE: NodeCompute,
          NodeType.REDUCER: NodeReducer, NodeType.ORCHESTRATOR: NodeOrchestrator}
_EXECUTE = {NodeType.EFFECT: "execute_effect", NodeType.COMPUTE: "execute_compute",
            NodeType.REDUCER: "execute_reduction", NodeType.ORCHESTRATOR: "execute_orchestration"}
_PERFORMANCE = {
    NodeType.EFFECT: {"p95_latency_ms": 200, "throughput_per_s": 100, "timeout_s": 30.0},
    NodeType.COMPUTE: {"p95_latency_ms": 10, "throughput_per_s": 1000, "timeout_s": 5.0},
    NodeType.REDUCER: {"p95_latency_ms": 50, "throughput_per_s": 500, "timeout_s": 10.0},
    NodeType.ORCHESTRATOR: {"p95_latency_ms": 500, "throughput_per_s": 50, "timeout_s": 60.0},
}
_DEPENDENCIES = ({"name": "onex_runtime", "version": ">=1.0,<2"},
                 {"name": "pydantic", "version": ">=2.7,<3"})
_OUTPUTS = {"__init__.py": "init.py.j2", "models.py": "models.py.j2",
            "contract.yaml": "contract.yaml.j2", "test_node.py": "test_node.py.j2",
            "README.md": "README.md.j2"}


@dataclass(frozen=True, slots=True)
class RenderedPackage:
    """A rendered node package; ``files`` paths are relative to ``package``."""

    package: str
    class_name: str
    template_version: str
    files: list[GeneratedFile]


def template_digest(directory: Path = TEMPLATE_DIR) -> str:
    """SHA-256 over every template's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.j2")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _mtimes(directory: Path) -> tuple[tuple[str, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(directory.rglob("*.j2")))


@functools.cache
def reserved_names() -> frozenset[str]:
    """Attribute names an operation method must not shadow (base classes and every mixin)."""
    names: set[str] = set()
    classes: list[type] = [*_BASES.values(), *(spec.cls for spec in MIXINS.values())]
    for cls in classes:
        names.update(dir(cls))
        for klass in cls.__mro__:
            names.update(getattr(klass, "__annotations__", {}))
    return frozenset(names | {"node_name", "node_version", "input_model", "output_model"})


def _operations(request: GenerationRequest) -> list[dict[str, str]]:
    ops = [(op.name, op.description) for op in request.operations] or [DEFAULT_OPERATION]
    seen: set[str] = set()
    for name, _ in ops:
        if name in seen:
            raise InvalidOperationError(f"operation {name!r} is listed twice; list each once")
        if name in reserved_names():
            raise InvalidOperationError(
                f"operation {name!r} would shadow the node's own {name!r} attribute "
                "(from onex_runtime); rename the operation")
        seen.add(name)
    return [{"name": name, "description": description,
             "doc": description or f"Run the {name} operation."} for name, description in ops]


def _check_mixins(request: GenerationRequest) -> None:
    conflicts = check_composition(request.node_type.value, request.mixins)
    unknown = [c for c in conflicts if c.kind == "unknown"]
    if unknown:
        raise UnknownMixinError(unknown)
    if conflicts:
        raise CompositionRejected(request.node_type.value, conflicts)


class Renderer:
    """Compiled templates of one template directory, and the version they make."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self.template_dir = template_dir
        self.mtimes = _mtimes(template_dir)
        self.version = f"{TEMPLATE_SERIES}+{template_digest(template_dir)[:12]}"
        # Not HTML: escaping is per target (Python, YAML, Markdown) by explicit filters,
        # and finalize_guard refuses any unfiltered free text.
        env = Environment(loader=FileSystemLoader(str(template_dir)), undefined=StrictUndefined,
                          autoescape=False,  # noqa: S701 - see comment above
                          keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                          finalize=finalize_guard, auto_reload=False)
        env.filters.update(FILTERS)
        try:
            self._node = {t: env.get_template(f"node_{t.value}.py.j2") for t in NodeType}
            self._others = {out: env.get_template(name) for out, name in _OUTPUTS.items()}
        except TemplateError as exc:
            raise RenderError(f"template in {template_dir} does not compile: {exc}") from exc

    def context(self, request: GenerationRequest) -> dict[str, Any]:
        """Everything the templates see; free text stays raw here and is filtered there."""
        kind, pascal, snake = request.node_type, pascal_case(request.name), snake_case(request.name)
        type_title = kind.value.title()
        class_name = f"Node{pascal}{type_title}"
        version_dir = "v" + request.version.replace(".", "_")
        package = f"node_{request.domain}_{snake}_{kind.value}/{version_dir}"
        operations = _operations(request)
        specs = [MIXINS[m] for m in request.mixins]
        published = [f"{request.name}.{op['name']}.{outcome}" for op in operations
                     for outcome in ("completed", "failed")] if "EventBus" in request.mixins else []
        subscribed = [f"{request.name}.requested"] if "EventHandler" in request.mixins else []
        return {
            "template_version": self.version, "node_type": kind.value,
            "node_type_upper": kind.value.upper(), "base_class": _BASES[kind].__name__,
            "execute_method": _EXECUTE[kind],
            "runtime_imports": sorted([_BASES[kind].__name__, "NodeContext"]),
            "name": request.name, "domain": request.domain,
            "init_exports": sorted([class_name, f"Model{pascal}{type_title}Input",
                                    f"Model{pascal}{type_title}Output"]),
            "version": request.version, "description": request.description,
            "class_name": class_name, "input_model": f"Model{pascal}{type_title}Input",
            "output_model": f"Model{pascal}{type_title}Output", "package": package,
            "import_path": package.replace("/", "."), "operations": operations,
            "default_operation": operations[0]["name"],
            "operations_key": "io_operations" if kind is NodeType.EFFECT else "operations",
            "mixins": [{"name": s.name, "class_name": s.class_name, "description": s.description}
                       for s in specs],
            "mixin_classes": [s.class_name for s in specs],
            "mixin_imports": sorted(s.class_name for s in specs),
            "module_doc": f"{kind.value.upper()} node {request.name} of domain {request.domain}.",
            "class_doc": request.description or f"{kind.value.upper()} node {request.name}.",
            "effect_target": f"{request.domain}.{snake}", "test_name": f"{snake_case(class_name)}_"
            f"processes_{operations[0]['name']}_once", "dependencies": _DEPENDENCIES,
            "performance": _PERFORMANCE[kind], "events_published": published,
            "events_subscribed": subscribed,
        }

    def render(self, request: GenerationRequest, *, check_mixins: bool = True) -> RenderedPackage:
        """Check the request, then render every file of the package.

        ``check_mixins=False`` renders even a statically invalid composition, so
        its real outcome can be observed (ground truth for learning, tests).
        """
        if check_mixins:
            _check_mixins(request)
        elif unknown := [m for m in request.mixins if m not in MIXINS]:
            raise UnknownMixinError(check_composition(request.node_type.value, unknown))
        ctx = self.context(request)
        outputs = {"node.py": self._node[request.node_type], **self._others}
        files: list[GeneratedFile] = []
        try:
            for path in sorted(outputs):
                content = outputs[path].render(ctx)
                digest = hashlib.sha256(content.encode()).hexdigest()
                files.append(GeneratedFile(path=path, content=content, sha256=digest))
        except TemplateError as exc:
            raise RenderError(f"rendering {path} failed: {exc}") from exc
        return RenderedPackage(ctx["package"], ctx["class_name"], self.version, files)


_lock = threading.Lock()
_default: Renderer | None = None
_checked_at = 0.0


def default_renderer() -> Renderer:
    """The shared renderer, rebuilt when a template file's content changed."""
    global _default, _checked_at
    now = time.monotonic()
    renderer = _default
    if renderer is not None and now - _checked_at < _RECHECK_S:
        return renderer
    with _lock:
        _checked_at = now
        if _default is None or (_mtimes(_default.template_dir) != _default.mtimes
                                and template_digest(_default.template_dir)[:12]
                                != _default.version.rsplit("+", 1)[1]):
            _default = Renderer(_default.template_dir if _default else TEMPLATE_DIR)
        return _default


def render_package(request: GenerationRequest) -> RenderedPackage:
    """Render ``request`` with the current templates (raises ``CodegenError`` subclasses)."""
    return default_renderer().render(request)


TEMPLATE_VERSION = default_renderer().version
"""The template version at import; ``RenderedPackage.template_version`` is authoritative."""
