"""Template engine for ONEX node packages and validation of what it generates.

``render_package`` turns a ``GenerationRequest`` into files; ``validate_syntax``
and ``check_composition_for_real`` tell whether they compile and really work.
"""

from onexgen.generation.errors import (
    CompositionRejected,
    GenerationError,
    InvalidOperationError,
    RenderError,
    RequestRejected,
    UnknownMixinError,
)
from onexgen.generation.render import TEMPLATE_VERSION, RenderedPackage, Renderer, render_package
from onexgen.generation.validate import check_composition_for_real, validate_syntax

__all__ = [
    "TEMPLATE_VERSION",
    "CompositionRejected",
    "GenerationError",
    "InvalidOperationError",
    "RenderError",
    "RenderedPackage",
    "Renderer",
    "RequestRejected",
    "UnknownMixinError",
    "check_composition_for_real",
    "render_package",
    "validate_syntax",
]
