"""What ``onexgen templates`` does: list, export, check and diff an overlay.

``check`` is the authoring loop's test: every node type, with mixin sets that
together use every mixin the node type accepts (packed greedily into as few
statically valid sets as possible), with plain and hostile free text, through
the whole validation (render, syntax, composition in a child interpreter), so
a forgotten filter or a broken include shows up before a worker sees it.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from onex_runtime import MIXINS
from onex_runtime.catalog import check_composition

from onexgen.generation.engine import Engine, EngineConfig
from onexgen.generation.overlays import MANIFEST
from onexgen.generation.render import TEMPLATE_DIR
from onexgen.models.wire import GenerationRequest, NodeType, Operation, ResultStatus

HOSTILE_DESCRIPTION = 'A "quoted"\nline {{ braces }} with \'\'\' and """ and # -*- coding: x'


@dataclass(frozen=True, slots=True)
class Layered:
    """One effective template file and the layer it comes from (None: built in)."""

    name: str
    path: Path
    layer: Path | None


def effective_files(overlays: Sequence[Path]) -> list[Layered]:
    """Every template file a renderer over ``overlays`` would use, first layer winning."""
    seen: dict[str, Layered] = {}
    for directory in [*overlays, TEMPLATE_DIR]:
        layer = None if directory == TEMPLATE_DIR else directory
        candidates = sorted(directory.rglob("*.j2"))
        if layer is not None and (directory / MANIFEST).is_file():
            candidates.insert(0, directory / MANIFEST)
        for path in candidates:
            name = path.relative_to(directory).as_posix()
            seen.setdefault(name, Layered(name, path, layer))
    return sorted(seen.values(), key=lambda f: f.name)


def export_builtins(target: Path, *, force: bool = False) -> list[Path]:
    """Copy the built-in templates into ``target`` (refused over existing files unless forced)."""
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(TEMPLATE_DIR.rglob("*.j2"))
    clashes = [target / p.relative_to(TEMPLATE_DIR) for p in sources
               if (target / p.relative_to(TEMPLATE_DIR)).exists()]
    if clashes and not force:
        raise FileExistsError(f"{clashes[0]} exists; export into an empty directory or pass "
                              "--force to overwrite")
    written = []
    for path in sources:
        out = target / path.relative_to(TEMPLATE_DIR)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
        written.append(out)
    return written


def diff_overlay(overlay: Path) -> Iterator[str]:
    """Unified diff lines of every overlay file against the built-in of the same name."""
    for path in sorted(overlay.rglob("*.j2")):
        name = path.relative_to(overlay).as_posix()
        builtin = TEMPLATE_DIR / name
        old = builtin.read_text().splitlines(keepends=True) if builtin.is_file() else []
        yield from difflib.unified_diff(
            old, path.read_text().splitlines(keepends=True),
            fromfile=f"built-in/{name}" if old else "/dev/null", tofile=f"overlay/{name}")


def mixin_spread(node_type: NodeType) -> list[list[str]]:
    """No mixins, then sets packing every mixin ``node_type`` accepts alone into few valid sets."""
    accepted = [m for m in MIXINS if not check_composition(node_type.value, [m])]
    sets: list[list[str]] = [[]]
    current: list[str] = []
    for mixin in accepted:
        if check_composition(node_type.value, [*current, mixin]):
            sets.append(current)
            current = []
        current.append(mixin)
    if current:
        sets.append(current)
    return sets


def sample_requests() -> list[GenerationRequest]:
    """The requests ``check`` renders: every node type x mixin spread, plain and hostile."""
    requests = []
    for node_type in NodeType:
        for i, mixins in enumerate(mixin_spread(node_type)):
            for kind, text in (("plain", "Keeps samples."), ("hostile", HOSTILE_DESCRIPTION)):
                requests.append(GenerationRequest(
                    request_id=f"check-{node_type.value}-{i}-{kind}", node_type=node_type,
                    name="SampleStore", domain="samples", description=text, mixins=mixins,
                    operations=[Operation(name="fetch_record", description=text),
                                Operation(name="store_record", description="Store.")]))
    return requests


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """One sample request the templates did not generate valid code for."""

    request: GenerationRequest
    stage: str
    error: str

    def __str__(self) -> str:
        mixins = ",".join(self.request.mixins) or "no mixins"
        return (f"{self.request.node_type.value} [{mixins}] ({self.request.request_id}): "
                f"{self.stage}: {self.error}")


def check_overlays(overlays: Sequence[Path], *, composition: bool = True
                   ) -> tuple[int, list[CheckFailure]]:
    """Render every sample through the whole validation; (how many ran, what failed)."""
    engine = Engine(EngineConfig(template_dirs=tuple(overlays), composition=composition))
    requests = sample_requests()
    failures = []
    for request in requests:
        result, _, _ = engine.generate(request)
        if result.status is not ResultStatus.SUCCEEDED:
            stage = next((s.stage for s in result.stages if not s.passed), "render")
            failures.append(CheckFailure(request, stage, result.error or result.status.value))
    return len(requests), failures
