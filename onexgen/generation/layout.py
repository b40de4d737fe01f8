"""Where the lines that carry a request's names fit in ``ruff format``'s 88 columns.

The built-in templates wrap a line exactly where ``ruff format`` would, and whether a
line fits depends only on the node's names. Each decision is made here once per
request (and per operation), as a boolean the templates test, instead of by a Jinja
string concatenation and ``length`` filter in the templates, evaluated per file and
per operation on every render. ``LINES`` says which line each key decides (the
template reference is generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass

from onexgen.generation.filters import Emitted, pydoc

WIDTH = 88
"""``ruff format``'s default line length."""


def _fits(line: str) -> bool:
    return len(line) <= WIDTH


def _fits_or_cannot(line: str, wrapped: str) -> bool:
    """ruff splits ``line`` at its brackets only when the wrapped part then fits."""
    return len(line) <= WIDTH or len(wrapped) > WIDTH


LINES = {
    "models_import_fits": "`from .models import <In>, <Out>` (node.py, __init__.py, "
                          "test_node.py)",
    "node_import_fits": "`from .node import <Class>` (__init__.py, test_node.py)",
    "mixin_import_fits": "`from onex_runtime.mixins import <A>, <B>` (node.py)",
    "class_line_fits": "`class <Class>(<Base>[<In>, <Out>]):` (node.py, without mixins)",
    "generic_base_fits": "`<Base>[<In>, <Out>],` in the wrapped class bases (node.py)",
    "input_model_line_fits": "`input_model = <In>` (node.py; ruff leaves it long when "
                             "parentheses would not help)",
    "output_model_line_fits": "`output_model = <Out>` (node.py; likewise)",
    "execute_return_fits": "the execute method's `) -> <Out>:` (node.py)",
    "return_call_fits": "`return <Out>(` in the execute method (node.py)",
    "input_class_fits": "`class <In>(BaseModel):` (models.py)",
    "output_class_fits": "`class <Out>(BaseModel):` (models.py)",
    "default_operation_fits": "`operation: Operation = \"<default>\"` (models.py)",
    "node_assign_fits": "`node = <Class>()` (test_node.py, README.md)",
    "test_request_fits": "`request = <In>(` with its arguments below (test_node.py)",
    "scenario_return_fits": "`async def scenario() -> <Out>:` (test_node.py)",
    "readme_import_fits": "`from <import path> import <In>, <Class>` (README.md)",
    "readme_request_one_line": "`request = <In>(operation=\"<default>\")` on one line "
                               "(README.md)",
    "readme_request_fits": "`request = <In>(` with its argument below (README.md)",
}
"""Each layout key and the line it decides (it is true when the line fits as is)."""


def layout(*, class_name: str, input_model: str, output_model: str, base_class: str,
           mixin_imports: list[str], default_operation: str,
           import_path: str) -> dict[str, bool]:
    """Every line-fits decision of the built-in templates for one request's names.

    ``default_operation`` is an identifier, so its literal is ``"<name>"``.
    """
    default_literal = f'"{default_operation}"'
    generic_base = f"{base_class}[{input_model}, {output_model}]"
    return {
        # node.py, __init__.py, test_node.py
        "models_import_fits": _fits(f"from .models import {input_model}, {output_model}"),
        "node_import_fits": _fits(f"from .node import {class_name}"),
        # node.py
        "mixin_import_fits": _fits("from onex_runtime.mixins import " + ", ".join(mixin_imports)),
        "class_line_fits": _fits(f"class {class_name}({generic_base}):"),
        "generic_base_fits": _fits(f"    {generic_base},"),
        "input_model_line_fits": _fits_or_cannot(f"    input_model = {input_model}",
                                                 f"        {input_model}"),
        "output_model_line_fits": _fits_or_cannot(f"    output_model = {output_model}",
                                                  f"        {output_model}"),
        "execute_return_fits": _fits_or_cannot(f"    ) -> {output_model}:",
                                               f"        {output_model}"),
        "return_call_fits": _fits_or_cannot(f"        return {output_model}(",
                                            f"            {output_model}("),
        # models.py
        "input_class_fits": _fits(f"class {input_model}(BaseModel):"),
        "output_class_fits": _fits(f"class {output_model}(BaseModel):"),
        "default_operation_fits": _fits(f"    operation: Operation = {default_literal}"),
        # test_node.py and README.md
        "node_assign_fits": _fits_or_cannot(f"    node = {class_name}()",
                                            f"        {class_name}()"),
        # test_node.py
        "test_request_fits": (_fits_or_cannot(f"    request = {input_model}(",
                                              f"        {input_model}(")
                              or not _fits(f"            operation={default_literal},")),
        "scenario_return_fits": _fits(f"    async def scenario() -> {output_model}:"),
        # README.md
        "readme_import_fits": _fits(f"from {import_path} import {input_model}, {class_name}"),
        "readme_request_one_line": _fits(
            f"        request = {input_model}(operation={default_literal})"),
        "readme_request_fits": (_fits_or_cannot(f"        request = {input_model}(",
                                                f"            {input_model}(")
                                or not _fits(f"                operation={default_literal},")),
    }


_CALL = "                result = await self."
"""The dispatch line of an operation, up to its name (inside ``match``/``case``)."""


@dataclass(frozen=True, slots=True)
class OperationView:
    """An operation as the templates see it: the request's name and description, the
    method's docstring literal, and where its dispatch call fits (one view per operation
    and request, so a package's loops test booleans instead of measuring strings)."""

    name: str
    description: str
    doc: Emitted
    """The method docstring: the description, or ``Run the <name> operation.``"""
    call_fits: bool
    """``result = await self.<name>(input_data, context)`` fits on its line."""
    call_wrapped: bool
    """Only ``await self.<name>(`` fits, in parentheses on the next line."""
    state_call_fits: bool
    """The reducer's ``result = await self.<name>(input_data, state, context)`` fits."""
    step_call_fits: bool
    """The orchestrator's ``self.<name>(input_data, context),`` step argument fits."""


def operation_view(name: str, description: str) -> OperationView:
    """The view of one operation (``name`` is an identifier)."""
    n = len(name)
    return OperationView(
        name, description, pydoc(description, f"Run the {name} operation."),
        call_fits=len(_CALL) + n + len("(input_data, context)") <= WIDTH,
        call_wrapped=(len(_CALL) + n + 1 > WIDTH
                      and len("                    await self.") + n + 1 <= WIDTH),
        state_call_fits=len(_CALL) + n + len("(input_data, state, context)") <= WIDTH,
        step_call_fits=len("                    self.") + n + len("(input_data, context),")
        <= WIDTH)
