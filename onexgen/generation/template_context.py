"""What a template can use: every context variable and filter, described for authors.

``docs/generate.py`` writes docs/reference/templates.md from this module, and a
test checks that ``VARIABLES`` names exactly what ``Renderer.context`` (plus the
patterns added when rendering) gives templates, so the page cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from onexgen.generation.layout import LINES


@dataclass(frozen=True, slots=True)
class Variable:
    """One context variable: its type as a template sees it, and whether it is free text."""

    kind: str
    doc: str
    free_text: bool = False
    """Request text that must go through a filter to be printed (the guard refuses it raw)."""


VARIABLES: dict[str, Variable] = {
    "template_comment": Variable("str", "the template version as comment text"),
    "header_comments": Variable("str", "the `# <Class>: ...` and `# Description: ...` "
                                "comment lines that start every Python file"),
    "template_version": Variable("str", "`<series>+<digest>` (with an overlay "
                                 "`<series>+<name>-<series>.<digest>`): the version of the "
                                 "templates rendering this package", free_text=True),
    "node_type": Variable("str", "`effect`, `compute`, `reducer` or `orchestrator`"),
    "node_type_upper": Variable("str", "the node type in capitals (`COMPUTE`)"),
    "base_class": Variable("str", "the runtime base class (`NodeCompute`)"),
    "execute_method": Variable("str", "the base class's method the node implements"),
    "runtime_imports": Variable("list[str]", "names `node.py` imports from `onex_runtime`"),
    "name": Variable("str", "the node's name as requested (an identifier)"),
    "domain": Variable("str", "the node's domain (a snake_case identifier)"),
    "init_exports": Variable("list[str]", "names `__init__.py` exports"),
    "version": Variable("str", "the node's version (`1.0.0`)"),
    "description": Variable("str", "the request's free-text description (may be empty)",
                            free_text=True),
    "class_name": Variable("str", "the node class (`NodeUserStoreCompute`)"),
    "input_model": Variable("str", "the input model class"),
    "output_model": Variable("str", "the output model class"),
    "package": Variable("str", "the package path (`node_<domain>_<name>_<type>/v1_0_0`)"),
    "import_path": Variable("str", "the package path as a dotted import path"),
    "operations": Variable("list[OperationView]", "each has `.name` (identifier), "
                           "`.description` (free text: filter it), `.doc` (the method "
                           "docstring literal) and where its dispatch call fits: "
                           "`.call_fits`, `.call_wrapped`, `.state_call_fits` (reducer), "
                           "`.step_call_fits` (orchestrator)"),
    "default_operation": Variable("str", "the first operation's name"),
    "operations_key": Variable("str", "the contract's key for operations (`io_operations` "
                               "on effect nodes)"),
    "mixins": Variable("list[MixinSpec]", "in canonical order; each has `.name`, "
                       "`.class_name` and `.description` (filter it)"),
    "mixin_classes": Variable("list[str]", "the mixin classes, in base-class order"),
    "mixin_imports": Variable("list[str]", "the mixin classes, sorted for the import line"),
    "module_doc": Variable("str", "a one-line module docstring", free_text=True),
    "class_doc": Variable("str", "the class docstring: the description or a default",
                          free_text=True),
    "effect_target": Variable("str", "`<domain>.<snake name>`: what an effect node acts on"),
    "runtime_requirement": Variable("str", "the onexgen-runtime versions the package needs "
                                    "(`onexgen-runtime>=0.2.0,<0.3`)"),
    **{key: Variable("bool", f"true when {line} fits in 88 columns (else wrapped as "
                           "ruff wraps it)") for key, line in LINES.items()},
    "dependencies": Variable("tuple[Dependency]", "each has `.name` and `.version` (a "
                             "specifier: filter it)"),
    "performance": Variable("Performance", "`.p95_latency_ms`, `.throughput_per_s`, "
                            "`.timeout_s` defaults for the node type"),
    "events_published": Variable("list[str]", "events an `EventBus` node publishes"),
    "events_subscribed": Variable("list[str]", "events an `EventHandler` node handles"),
    "patterns": Variable("list[Pattern]", "detected patterns, each with `.name` and "
                         "`.confidence` (text such as `0.87`)"),
}

OVERLAY_RULES = (
    "Every `{{ }}` passes the guard: a value prints raw only if it is a number, a boolean, "
    "an identifier-like token (`[A-Za-z0-9_.]*`) or the output of one of the filters below. "
    "Anything else fails the request with the template file and line.",
    "Use the filter for where the text lands: `pyrepr` in Python code, `pycomment` after "
    "`#`, `yaml_str` in YAML, `md_text` in Markdown. A filter used in the wrong place (say "
    "`pycomment` outside a comment) is not caught by the guard: `onexgen templates check` "
    "renders hostile text through every file to find it.",
    "`{% filter %}` blocks are refused in overlay templates: a filter over a block could "
    "undo the escaping of the values inside it.",
    "Macros, blocks (`{{ super() }}`) and recursive loops print their output as is (their "
    "own `{{ }}` were guarded); any other call's text meets the guard. A `{% call %}` "
    "block must call a macro. Import macros `with context` to let them see the variables.",
    "No attribute or key starting with `_` is looked up (`x.__class__`, `x['_y']`, "
    "`attr('_y')`, `map(attribute='_y')`): that is the way to the classes behind the "
    "filters' safe text.",
)
