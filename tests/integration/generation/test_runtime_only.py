"""Generated packages checked as a team would, in a venv holding only onexgen-runtime.

The runtime distribution (runtime/) is built into a wheel and installed into a fresh venv
with pytest and the pinned mypy, nothing else of ours: no onexgen, faust, jinja2 or
scikit-learn. There the 20 outside requests (tests/integration/generation/data: all four
node types, long realistic names, a spread of mixin sets) and one package per node type
for every mixin the catalogue allows on it must compile, pass ``ruff format --check``,
``ruff check`` (defaults + I, B, UP, SIM, RUF), ``mypy --strict`` and their own tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from onex_runtime import MIXINS
from onex_runtime import __version__ as runtime_version

from onexgen.generation.render import RenderedPackage, Renderer, runtime_requirement
from onexgen.models.wire import GenerationRequest, NodeType
from tests.integration.generation.package_check import (
    compile_problems,
    mypy_problems,
    pytest_problems,
    ruff_problems,
    tool_env,
    write_packages,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.timeout(1200)]  # building and installing the wheel: minutes when busy

ROOT = Path(__file__).resolve().parents[3]
OUTSIDE = Path(__file__).parent / "data" / "outside_requests.json"
NOT_INSTALLED = ("onexgen", "faust", "jinja2", "sklearn", "aiokafka", "asyncpg", "orjson")


def outside_requests() -> list[GenerationRequest]:
    return [GenerationRequest.model_validate(d) for d in json.loads(OUTSIDE.read_text())]


def _pinned(tool: str) -> str:
    """The dev extra's pin of ``tool`` (``mypy==2.4.1``), so both venvs check alike."""
    found = re.search(rf'"({tool}==[^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert found, f"pyproject.toml's dev extra must pin {tool}"
    return found.group(1)


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the runtime wheel, pytest and mypy only; its bin directory."""
    home = tmp_path_factory.mktemp("runtime-only")
    source = home / "src"  # a copy: building writes build/ and *.egg-info beside the source
    shutil.copytree(ROOT / "runtime", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip"]
    built = subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(home / "dist"),
                            str(source)], capture_output=True, text=True,
                           timeout=600, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((home / "dist").glob("onexgen_runtime-*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    bin_dir = home / "venv" / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q",
                           str(wheels[0]), "pytest", _pinned("mypy")],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    yield bin_dir


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _check_in_runtime_venv(bin_dir: Path, root: Path,
                           packages: list[RenderedPackage]) -> tuple[dict[str, str], str]:
    code, blocks = write_packages(root, packages)
    env = tool_env()
    tested, summary = pytest_problems(code, bin_dir / "python", env)
    return {"compile": compile_problems(code) + compile_problems(blocks),
            "ruff": ruff_problems(code, blocks),
            "mypy --strict": mypy_problems(code, bin_dir / "mypy", env),
            "own tests": tested}, summary


def test_runtime_venv_holds_the_runtime_without_the_service(runtime_venv: Path) -> None:
    probe = ("import importlib.util, json, onex_runtime; print(json.dumps([onex_runtime."
             f"__version__, [n for n in {NOT_INSTALLED!r} if importlib.util.find_spec(n)]]))")
    done = subprocess.run([str(runtime_venv / "python"), "-I", "-c", probe], cwd="/",
                          capture_output=True, text=True, timeout=60, check=True)
    version, present = json.loads(done.stdout)
    assert version == runtime_version
    assert present == []
    listed = subprocess.run([str(runtime_venv / "python"), "-m", "pip", "list",
                             "--format=json"], capture_output=True, text=True, timeout=120,
                            check=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"onexgen-runtime", "pydantic", "pytest", "mypy"} <= names
    assert "onexgen" not in names


def test_outside_requests_pass_every_check_with_only_the_runtime(
        runtime_venv: Path, renderer: Renderer, tmp_path: Path) -> None:
    requests = outside_requests()
    assert len(requests) == 20
    assert {r.node_type for r in requests} == set(NodeType)
    packages = [renderer.render(r) for r in requests]
    problems, summary = _check_in_runtime_venv(runtime_venv, tmp_path, packages)
    assert problems == dict.fromkeys(problems, ""), problems
    assert summary.startswith("20 passed"), summary
    for package in packages:
        contract = next(f.content for f in package.files if f.path == "contract.yaml")
        readme = next(f.content for f in package.files if f.path == "README.md")
        assert runtime_requirement() in contract and runtime_requirement() in readme


def test_every_node_type_with_each_allowed_mixin_passes_with_only_the_runtime(
        runtime_venv: Path, renderer: Renderer, tmp_path: Path) -> None:
    """One package per (node type, mixin) the catalogue allows, plus one without mixins and
    one with each mixin's requirements: the mixin library's whole surface, type-checked."""
    packages = []
    for kind in NodeType:
        sets: list[list[str]] = [[]] + [[name, *spec.requires]
                                        for name, spec in sorted(MIXINS.items())
                                        if kind.value in spec.node_types]
        for number, mixins in enumerate(sets):
            request = GenerationRequest.model_validate({
                "request_id": f"spread-{kind.value}-{number}", "node_type": kind.value,
                "name": f"InventoryLevel{number}", "domain": "warehouse_operations",
                "operations": [{"name": "adjust_stock_level"}, {"name": "count_shelf"}],
                "mixins": list(dict.fromkeys(mixins))})
            packages.append(renderer.render(request))
    problems, summary = _check_in_runtime_venv(runtime_venv, tmp_path, packages)
    assert problems == dict.fromkeys(problems, ""), problems
    assert summary.startswith(f"{len(packages)} passed"), summary
