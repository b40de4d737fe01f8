"""The commands in README.md and docs/*.md work as written, against a real worker.

Every block marked ``<!-- doctest: run -->`` runs in a scratch directory that
has the repository's ``examples/`` and ``.venv/`` (so ``.venv/bin/onexgen`` and
``examples/requests.jsonl`` resolve as in the docs), with ``ONEXGEN_*`` pointing
at a real worker process on the real broker, under its own topic prefix, with
its own database. ``sh`` blocks run under ``bash -euo pipefail``; ``python``
blocks with the project's interpreter. Every ``--help`` of the CLI is run too.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, Block, all_blocks
from tests.docs.test_generated import generator
from tests.harness import WorkerProcess, scratch_database

pytestmark = pytest.mark.integration

RUN_BLOCKS = [b for b in all_blocks() if b.marker == "run"]


@pytest.fixture(scope="module")
async def docs_env(kafka_bootstrap: str, database_url: str,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, str]]:
    async with scratch_database(database_url, "docs") as db_url:
        prefix = f"docs{uuid.uuid4().hex[:8]}"
        logs = tmp_path_factory.mktemp("docs-worker")
        worker = WorkerProcess(bootstrap=kafka_bootstrap, database_url=db_url, prefix=prefix,
                               log_file=logs / "worker.log")
        await asyncio.to_thread(worker.start)
        env = {**os.environ,
               **{k: v for k, v in worker.env.items() if k.startswith("ONEXGEN_")}}
        env.pop("ONEXGEN_LOG_FILE", None)
        env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        try:
            yield env
        finally:
            code = await asyncio.to_thread(worker.stop)
            assert code == 0, worker.stderr_path.read_text()[-3000:]


def scratch(tmp_path: Path) -> Path:
    for name in ("examples", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[b.where for b in RUN_BLOCKS])
async def test_documented_block_runs(block: Block, docs_env: dict[str, str],
                                     tmp_path: Path) -> None:
    if block.lang == "sh":
        argv = ["bash", "-euo", "pipefail", "-c", block.code]
    elif block.lang == "python":
        argv = [sys.executable, "-c", block.code]
    else:
        raise AssertionError(f"{block.where}: cannot run a {block.lang!r} block")
    done = await asyncio.to_thread(
        subprocess.run, argv, cwd=scratch(tmp_path), env=docs_env, capture_output=True,
        text=True, timeout=180, check=False)
    assert done.returncode == 0, (f"{block.where} failed ({done.returncode}):\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def test_every_cli_help_runs() -> None:
    failures = []
    for path in generator().commands():
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "onexgen"), *path, "--help"],
                              capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0 or "usage: onexgen" not in done.stdout:
            failures.append((path, done.returncode, done.stderr[-300:]))
    assert not failures, failures
