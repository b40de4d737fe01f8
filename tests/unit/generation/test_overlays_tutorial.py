"""docs/templates-tutorial.md works as written: its sh blocks, in order, in one directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.docs.blocks import ROOT, blocks

TUTORIAL = ROOT / "docs" / "templates-tutorial.md"


def test_tutorial_steps_run_in_order_and_shape_the_package(tmp_path: Path) -> None:
    steps = [b for b in blocks(TUTORIAL) if b.lang == "sh"]
    assert len(steps) == 4
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEXGEN_")}
    for step in steps:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", step.code], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, f"{step.where}:\n{done.stdout[-2000:]}\n{done.stderr}"
    package = tmp_path / "out" / "node_pricing_price_index_compute" / "v1_0_0"
    assert "Owner: team `pricing`" in (package / "README.md").read_text()
    assert (package / "CHANGELOG.md").is_file()
