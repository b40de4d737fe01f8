"""Helpers for generation tests: requests (models and raw bytes), running ruff on packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from onexgen.models.wire import GenerationRequest

RUFF = Path(sys.executable).parent / "ruff"


def make_request(node_type: str, mixins: list[str], **overrides: Any) -> GenerationRequest:
    data: dict[str, Any] = {
        "request_id": "req-1", "node_type": node_type, "name": "UserStore",
        "domain": "identity", "description": "Keeps users.",
        "operations": [{"name": "create_user", "description": "Create a user."},
                       {"name": "get_user", "description": ""}],
        "mixins": mixins,
    }
    data.update(overrides)
    return GenerationRequest.model_validate(data)


def ruff_check(directory: Path) -> subprocess.CompletedProcess[str]:
    """ruff with its default rules only (--isolated ignores the project's config)."""
    return subprocess.run([str(RUFF), "check", "--no-cache", "--isolated", str(directory)],
                          capture_output=True, text=True, check=False)


def raw_request(rid: str, name: str = "UserStore", node_type: str = "effect",
                mixins: tuple[str, ...] = ("Retry", "Metrics"), description: str = "") -> bytes:
    return orjson.dumps({"request_id": rid, "node_type": node_type, "name": name,
                         "domain": "identity", "description": description or rid,
                         "mixins": list(mixins)})
