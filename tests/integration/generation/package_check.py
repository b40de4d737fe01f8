"""What a Python team runs on a generated package, run for real on many packages at once.

``write_packages`` puts every package under one root (their paths are distinct) and each
README's Python block in ``<root>/../readme_blocks``; the checks then run one tool per
batch, not per package: ``ruff format --check`` and ``ruff check`` with ruff's default
rules plus I, B, UP, SIM and RUF (``--isolated``: the project's configuration plays no
part), ``compile``, ``mypy --strict`` and the packages' own tests. Each check returns its
problems as text, empty when there are none, so a failing assertion shows them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from onexgen.generation.render import RenderedPackage
from onexgen.generation.validate import write_package

BIN = Path(sys.executable).parent
RUFF_RULES = "E4,E7,E9,F,I,B,UP,SIM,RUF"
"""ruff's default rule set (E4, E7, E9, F) plus the ones the issue names."""
README_FENCE = "```python\n"


def readme_block(package: RenderedPackage) -> str:
    """The Python code block of the package's README."""
    readme = next(f.content for f in package.files if f.path == "README.md")
    start = readme.index(README_FENCE) + len(README_FENCE)
    return readme[start:readme.index("```", start)]


def write_packages(root: Path, packages: Iterable[RenderedPackage]) -> tuple[Path, Path]:
    """Write the packages under ``root/packages`` and their README blocks under
    ``root/readme_blocks``; returns both directories."""
    code, blocks = root / "packages", root / "readme_blocks"
    blocks.mkdir(parents=True, exist_ok=True)
    for number, package in enumerate(packages):
        write_package(code, package.package, package.files)
        (blocks / f"readme_{number}.py").write_text(readme_block(package), encoding="utf-8")
    return code, blocks


def _run(argv: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def _problems(done: subprocess.CompletedProcess[str]) -> str:
    return "" if done.returncode == 0 else (done.stdout + done.stderr)[-6000:]


def ruff_problems(*directories: Path, ruff: Path = BIN / "ruff") -> str:
    """``ruff format --check`` (with its diff) and ``ruff check`` over the directories;
    README.md files are formatted-checked too (ruff formats Markdown code blocks)."""
    out = []
    runs: list[list[str | Path]] = [
        [ruff, "format", "--isolated", "--diff", *directories],
        [ruff, "check", "--isolated", "--select", RUFF_RULES, "--output-format", "concise",
         *directories]]
    for argv in runs:
        out.append(_problems(_run(argv, cwd=directories[0])))
    return "\n".join(p for p in out if p)


def compile_problems(directory: Path) -> str:
    problems = []
    for path in sorted(directory.rglob("*.py")):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(f"{path}: {exc}")
    return "\n".join(problems)


def mypy_problems(directory: Path, mypy: Path = BIN / "mypy",
                  env: dict[str, str] | None = None) -> str:
    """``mypy --strict`` over every package under ``directory`` (namespace packages)."""
    return _problems(_run([mypy, "--strict", "--explicit-package-bases", "--no-incremental",
                           "."], cwd=directory, env=env))


def pytest_problems(directory: Path, python: Path = Path(sys.executable),
                    env: dict[str, str] | None = None) -> tuple[str, str]:
    """Run every package's own test; returns (problems, pytest's summary line)."""
    done = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode",
                 "importlib", "-W", "error", "."], cwd=directory, env=env)
    lines = done.stdout.strip().splitlines()
    return _problems(done), lines[-1] if lines else ""


def tool_env(extra_path: Path | None = None) -> dict[str, str]:
    """A plain environment for a child tool (no PYTHONPATH from ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if extra_path is not None:
        env["MYPYPATH"] = str(extra_path)
    return env
