"""Render a ``GenerationRequest`` into an ONEX node package.

One ``Renderer`` owns one Jinja2 Environment whose templates come from a
:class:`codegen.template_cache.TemplateCache` (also for ``extends`` and
``include``: the Environment's own cache is off and its loader is the cache),
so edited templates are picked up within seconds without re-reading files on
every lookup. The template version is ``<series>+<digest of every template's
SHA-256>``: same request + same templates -> byte-identical output, and any
template edit changes the version. Mixins are rendered in canonical order
(subclasses before their bases, otherwise as requested), so a valid *set*
never fails because of the order it was listed in.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from jinja2 import BaseLoader, Environment, StrictUndefined, Template, TemplateError
from jinja2 import TemplateNotFound as JinjaTemplateNotFound
from onex_runtime import (
    MIXINS,
    NodeCompute,
    NodeEffect,
    NodeOrchestrator,
    NodeReducer,
)
from onex_runtime import __version__ as RUNTIME_VERSION
from onex_runtime.catalog import check_composition

from onexgen.generation.composition import canonical_order
from onexgen.generation.errors import (
    CompositionRejected,
    InvalidOperationError,
    OutputTooLarge,
    RenderError,
    UnknownMixinError,
)
from onexgen.generation.filters import (
    FILTERS,
    Emitted,
    finalize_guard,
    precompute,
    pycomment,
    pycomments,
)
from onexgen.generation.layout import layout, operation_view
from onexgen.generation.overlays import (
    OVERLAY_FILTERS,
    LayeredTemplateCache,
    compile_guarded,
    describe,
    overlay_note,
)
from onexgen.generation.template_cache import TemplateCache
from onexgen.models.identifiers import pascal_case, snake_case
from onexgen.models.wire import (
    MAX_FILE_CHARS,
    GeneratedFile,
    GenerationRequest,
    NodeType,
    Operation,
)

TEMPLATE_SERIES = "1.0.0"
TEMPLATE_DIR = Path(str(resources.files("onexgen.generation") / "templates"))
DEFAULT_OPERATION = Operation(name="run", description="Run the node's default operation.")
_RENDER_ATTEMPTS = 3

_BASES = {NodeType.EFFECT: NodeEffect, NodeType.COMPUTE: NodeCompute,
          NodeType.REDUCER: NodeReducer, NodeType.ORCHESTRATOR: NodeOrchestrator}
_EXECUTE = {NodeType.EFFECT: "execute_effect", NodeType.COMPUTE: "execute_compute",
            NodeType.REDUCER: "execute_reduction", NodeType.ORCHESTRATOR: "execute_orchestration"}


# What templates read is made of attribute records (the request's own ``Operation``s,
# the catalog's ``MixinSpec``s, these), not dicts: Jinja's ``op.name`` tries ``getattr``
# first, and on a dict every such read raised and caught an AttributeError (about 8%
# of a package's rendering, measured interleaved).
@dataclass(frozen=True, slots=True)
class _Pattern:
    name: str
    confidence: str


@dataclass(frozen=True, slots=True)
class _Dependency:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class _Performance:
    p95_latency_ms: int
    throughput_per_s: int
    timeout_s: float


_PERFORMANCE = {
    NodeType.EFFECT: _Performance(p95_latency_ms=200, throughput_per_s=100, timeout_s=30.0),
    NodeType.COMPUTE: _Performance(p95_latency_ms=10, throughput_per_s=1000, timeout_s=5.0),
    NodeType.REDUCER: _Performance(p95_latency_ms=50, throughput_per_s=500, timeout_s=10.0),
    NodeType.ORCHESTRATOR: _Performance(p95_latency_ms=500, throughput_per_s=50, timeout_s=60.0),
}
def runtime_requirement(version: str = RUNTIME_VERSION) -> str:
    """The ``onexgen-runtime`` versions a package generated now works with: this release's
    series (``0.2.0`` -> ``>=0.2.0,<0.3``; from 1.0 on, the major version)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={version},<{upper}"


RUNTIME_REQUIREMENT = runtime_requirement()
_DEPENDENCIES = (_Dependency("onexgen-runtime", RUNTIME_REQUIREMENT),
                 _Dependency("pydantic", ">=2.7,<3"))
precompute([*(spec.description for spec in MIXINS.values()),
            *(text for dep in _DEPENDENCIES for text in (dep.name, dep.version))])
_OUTPUTS = {"__init__.py": "init.py.j2", "models.py": "models.py.j2",
            "contract.yaml": "contract.yaml.j2", "test_node.py": "test_node.py.j2",
            "README.md": "README.md.j2"}


def package_templates(node_type: NodeType) -> dict[str, str]:
    """Each file of a package of ``node_type`` -> the template it is rendered from."""
    return {"node.py": f"node_{node_type.value}.py.j2", **_OUTPUTS}


@dataclass(frozen=True, slots=True)
class RenderedPackage:
    """A rendered node package; ``files`` paths are relative to ``package``."""

    package: str
    class_name: str
    template_version: str
    files: list[GeneratedFile]
    overlay_note: str = ""
    """Which overlay files rendered it (empty with the built-ins): named in failed stages."""


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


_AMBIGUOUS = frozenset({"l", "I", "O"})


def _operations(request: GenerationRequest) -> list[Operation]:
    ops = list(request.operations) or [DEFAULT_OPERATION]
    seen: set[str] = set()
    for name in (op.name for op in ops):
        if name in seen:
            raise InvalidOperationError(f"operation {name!r} is listed twice; list each once")
        if name in _AMBIGUOUS:
            raise InvalidOperationError(
                f"operation {name!r} is a name linters reject as ambiguous (E743: l, I, O "
                "look like 1 and 0); rename the operation")
        if name in reserved_names():
            raise InvalidOperationError(
                f"operation {name!r} would shadow the node's own {name!r} attribute "
                "(from onex_runtime); rename the operation")
        seen.add(name)
    return ops


def _check_mixins(node_type: NodeType, mixins: list[str]) -> None:
    conflicts = check_composition(node_type.value, mixins)
    unknown = [c for c in conflicts if c.kind == "unknown"]
    if unknown:
        raise UnknownMixinError(unknown)
    if conflicts:
        raise CompositionRejected(node_type.value, conflicts)


class _CacheLoader(BaseLoader):
    """Jinja2 loader that answers from the template cache (``extends``/``include`` too)."""

    def __init__(self) -> None:
        self.get: Callable[[str], Template] | None = None

    def load(self, environment: Environment, name: str,
             globals: Any = None) -> Template:
        if self.get is None:
            raise RuntimeError("template loader used before its cache was attached")
        try:
            return self.get(name)
        except FileNotFoundError as exc:
            raise JinjaTemplateNotFound(name) from exc


class Renderer:
    """Templates of one directory (through a ``TemplateCache``) and the packages they make.

    ``cache_options`` go to :class:`TemplateCache` (``max_entries``, ``max_bytes``,
    ``ttl_s``, ``recheck_s``, ``clock``). Every template is compiled at construction
    (warm-up), so a broken template directory fails here, not on the first request.
    """

    def __init__(self, template_dir: Path = TEMPLATE_DIR, *, overlays: Sequence[Path] = (),
                 **cache_options: Any) -> None:
        """``overlays``: directories searched before ``template_dir`` (module overlays)."""
        self.template_dir = template_dir
        self.overlays = tuple(overlays)
        loader = _CacheLoader()
        # Not HTML: escaping is per target (Python, YAML, Markdown) by explicit filters,
        # and finalize_guard refuses any unfiltered free text. cache_size=0: the
        # TemplateCache is the only cache, so there is one place that notices edits.
        env = Environment(loader=loader, undefined=StrictUndefined,
                          autoescape=False,  # noqa: S701 - see comment above
                          keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                          finalize=finalize_guard, auto_reload=False, cache_size=0)
        env.filters.update(FILTERS)
        env.filters.update(OVERLAY_FILTERS)
        self.environment = env
        layered: LayeredTemplateCache[Template] | None = None

        def compile_template(name: str, source: str, filename: str) -> Template:
            if layered is not None and layered.layer_of(filename):
                code = compile_guarded(env, source, name, filename)
            else:
                code = env.compile(source, name, filename)
            # A plain copy of the globals, not make_globals' ChainMap: every context Jinja
            # makes (a file, an include, a block in a loop) takes set(globals), and
            # iterating a ChainMap runs in Python. Nothing changes the globals after start.
            return env.template_class.from_code(env, code, dict(env.globals), None)

        self.cache: TemplateCache[Template]
        if self.overlays:
            self.cache = layered = LayeredTemplateCache(
                [*self.overlays, template_dir], compile_template, series=TEMPLATE_SERIES,
                reserved=["node.py", *_OUTPUTS], **cache_options)
        else:
            self.cache = TemplateCache(template_dir, compile_template, series=TEMPLATE_SERIES,
                                       **cache_options)
        loader.get = self.cache.get
        try:
            self.cache.warm()
        except (TemplateError, UnicodeDecodeError) as exc:
            raise RenderError(f"template in {template_dir} does not compile: {exc}") from exc

    @property
    def version(self) -> str:
        """The current template version (after a freshness check, if one is due)."""
        return self.cache.current_version()

    def context(self, request: GenerationRequest, mixins: list[str] | None = None,
                version: str | None = None) -> dict[str, Any]:
        """Everything the templates see; free text stays raw here and is filtered there."""
        mixins = canonical_order(request.mixins) if mixins is None else mixins
        kind, pascal, snake = request.node_type, pascal_case(request.name), snake_case(request.name)
        type_title, type_upper = kind.value.title(), kind.value.upper()
        class_name = f"Node{pascal}{type_title}"
        input_model = f"Model{pascal}{type_title}Input"
        output_model = f"Model{pascal}{type_title}Output"
        base_class = _BASES[kind].__name__
        version_dir = "v" + request.version.replace(".", "_")
        package = f"node_{request.domain}_{snake}_{kind.value}/{version_dir}"
        import_path = package.replace("/", ".")
        operations = [operation_view(op.name, op.description) for op in _operations(request)]
        specs = [MIXINS[m] for m in mixins]
        mixin_imports = sorted(s.class_name for s in specs)
        published = [f"{request.name}.{op.name}.{outcome}" for op in operations
                     for outcome in ("completed", "failed")] if "EventBus" in mixins else []
        subscribed = [f"{request.name}.requested"] if "EventHandler" in mixins else []
        version = version or self.version
        # The comment lines every Python file starts with, filtered once per request here
        # rather than by an include in each of the four files.
        header = (pycomments(f"{class_name}: {type_upper} node of domain {request.domain}, "
                             f"version {request.version}.") + "\n"
                  + pycomments(request.description, "Description: "))
        return {
            "template_version": version, "template_comment": pycomment(version),
            "header_comments": Emitted(header), "node_type": kind.value,
            "node_type_upper": type_upper, "base_class": base_class,
            "execute_method": _EXECUTE[kind],
            "runtime_imports": sorted([base_class, "NodeContext"]),
            "name": request.name, "domain": request.domain,
            "init_exports": sorted([class_name, input_model, output_model]),
            "version": request.version, "description": request.description,
            "class_name": class_name, "input_model": input_model,
            "output_model": output_model, "package": package,
            "import_path": import_path, "operations": operations,
            "default_operation": operations[0].name,
            "operations_key": "io_operations" if kind is NodeType.EFFECT else "operations",
            "mixins": specs,  # MixinSpec: name, class_name, description
            "mixin_classes": [s.class_name for s in specs], "mixin_imports": mixin_imports,
            "module_doc": f"The {type_upper} node {request.name}.",
            "class_doc": request.description or f"{type_upper} node {request.name}.",
            "effect_target": f"{request.domain}.{snake}", "dependencies": _DEPENDENCIES,
            "runtime_requirement": Emitted(RUNTIME_REQUIREMENT),  # ours, not the request's
            "performance": _PERFORMANCE[kind], "events_published": published,
            "events_subscribed": subscribed,
            **layout(class_name=class_name, input_model=input_model, output_model=output_model,
                     base_class=base_class, mixin_imports=mixin_imports,
                     default_operation=operations[0].name, import_path=import_path),
        }

    def render(self, request: GenerationRequest, *, check_mixins: bool = True,
               order: Literal["canonical", "request"] = "canonical",
               patterns: Sequence[tuple[str, float]] = ()) -> RenderedPackage:
        """Check the request, then render every file of the package.

        ``check_mixins=False`` renders even a statically invalid composition, so
        its real outcome can be observed (ground truth for learning, tests);
        ``order="request"`` keeps the mixins in the order given (to observe what
        the runtime does with a bad order). A template edited while rendering
        changes the version; the package is then rendered again, so its files
        and its version always belong together.
        """
        mixins = canonical_order(request.mixins) if order == "canonical" else list(request.mixins)
        if check_mixins:
            _check_mixins(request.node_type, mixins)
        elif unknown := [m for m in mixins if m not in MIXINS]:
            raise UnknownMixinError(check_composition(request.node_type.value, unknown))
        for _ in range(_RENDER_ATTEMPTS):
            version = self.version
            package = self._render(request, mixins, version, patterns)
            if self.cache.version == version:
                return package
        raise RenderError("templates kept changing while rendering; try again")

    def _render(self, request: GenerationRequest, mixins: list[str], version: str,
                patterns: Sequence[tuple[str, float]] = ()) -> RenderedPackage:
        ctx = self.context(request, mixins, version)
        # Pattern names come from the fixed library (identifiers), confidences are floats.
        ctx["patterns"] = [_Pattern(name, f"{confidence:.2f}") for name, confidence in patterns]
        outputs = package_templates(request.node_type)
        files: list[GeneratedFile] = []
        path = ""
        env = self.environment
        shared = {**env.globals, **ctx}
        layered = self.cache if isinstance(self.cache, LayeredTemplateCache) else None
        try:
            if layered is not None:
                outputs.update(layered.extra_outputs())
            for path in sorted(outputs):
                content = _render_shared(env, self.cache.get(outputs[path]), shared)
                if len(content) > MAX_FILE_CHARS:
                    raise OutputTooLarge(
                        f"the generated {path} would be {len(content):,} characters, over the "
                        f"{MAX_FILE_CHARS:,} a generated file may have; shorten the "
                        "descriptions or split the operations over several nodes")
                digest = hashlib.sha256(content.encode()).hexdigest()
                files.append(GeneratedFile(path=path, content=content, sha256=digest))
        except (TemplateError, FileNotFoundError, UnicodeDecodeError, RenderError) as exc:
            target = f"rendering {path}" if path else "reading the overlay manifest"
            raise RenderError(f"{target} failed: {describe(exc)}") from exc
        note = overlay_note(layered) if layered is not None else ""
        return RenderedPackage(ctx["package"], ctx["class_name"], version, files, note)


def _render_shared(env: Environment, template: Template, variables: dict[str, Any]) -> str:
    """``template.render(variables)``, with ``variables`` (which hold the Environment's
    globals) as the context's parent instead of a copy of them merged with the globals.

    ``Template.render`` builds that copy for every file, iterating a ``ChainMap`` of
    the globals: a fifth of rendering a small file. Templates never write to their
    parent (``set`` goes to the context's own variables), so the files of one package
    can share it.
    """
    try:
        return env.concat(template.root_render_func(
            template.new_context(variables, shared=True)))
    except Exception:  # what Template.render does: a traceback that points into the template
        return env.handle_exception()


_lock = threading.Lock()
_default: Renderer | None = None


def default_renderer() -> Renderer:
    """The process-wide renderer over the shipped templates (or the one ``use_renderer`` set)."""
    global _default
    renderer = _default
    if renderer is None:
        with _lock:
            if _default is None:
                _default = Renderer()
            renderer = _default
    return renderer


def use_renderer(renderer: Renderer) -> None:
    """Make ``renderer`` the process-wide one (a pool process with its own template directory)."""
    global _default
    with _lock:
        _default = renderer


def render_package(request: GenerationRequest) -> RenderedPackage:
    """Render ``request`` with the current templates (raises ``GenerationError`` subclasses)."""
    return default_renderer().render(request)


TEMPLATE_VERSION = default_renderer().version
"""The template version at import; ``RenderedPackage.template_version`` is authoritative."""
