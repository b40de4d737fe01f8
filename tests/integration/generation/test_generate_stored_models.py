"""``onexgen generate --stored-models`` against a real Postgres model store.

A pattern detector that detects every pattern is stored through the real
``ModelStore``; the same request generated with the flag carries every pattern in
its contract and README, and without it only what the shipped detector finds. A
database that cannot be reached fails the flag with a message naming the setting.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from onexgen.cli.main import main
from onexgen.learning.models_store import ModelStore
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.persist import copy_of
from onexgen.learning.patterns.training import default_detector
from onexgen.models.wire import GenerationRequest
from onexgen.storage.migrate import migrate
from onexgen.storage.pool import Database

pytestmark = pytest.mark.integration

REQUEST = {"request_id": "stored-1", "node_type": "effect", "name": "ParcelDispatch",
           "domain": "logistics", "description": "Books a pickup with the carrier.",
           "operations": [{"name": "book_pickup", "description": "Book one pickup."}],
           "mixins": []}
PACKAGE = "node_logistics_parcel_dispatch_effect/v1_0_0"


def _generate(request_file: Path, out: Path, *flags: str) -> dict[str, Any]:
    assert main(["generate", str(request_file), "--out", str(out), "--no-check",
                 *flags]) == 0
    contract = yaml.safe_load((out / PACKAGE / "contract.yaml").read_text())
    assert isinstance(contract, dict)
    return contract


async def test_generate_stored_models_uses_stored_detector_else_shipped(
        fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await migrate(fresh_database_url)
    everything = copy_of(default_detector())
    everything.thresholds = dict.fromkeys(PATTERN_NAMES, 0.0)  # every confidence passes
    db = await Database.open(fresh_database_url, min_size=1, max_size=1)
    try:
        await ModelStore(db.pool).save_detector(everything, metrics={})
    finally:
        await db.close()
    monkeypatch.setenv("ONEXGEN_DATABASE_URL", fresh_database_url)
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(REQUEST))

    shipped = await asyncio.to_thread(_generate, request_file, tmp_path / "shipped")
    stored = await asyncio.to_thread(_generate, request_file, tmp_path / "stored",
                                     "--stored-models")

    expected = {p.name for p in default_detector().detect(
        GenerationRequest.model_validate(REQUEST))}
    assert {p["name"] for p in shipped["patterns"]} == expected
    assert expected != set(PATTERN_NAMES)  # else the stored detector would change nothing
    assert {p["name"] for p in stored["patterns"]} == set(PATTERN_NAMES)
    readme = (tmp_path / "stored" / PACKAGE / "README.md").read_text()
    assert all(f"`{name.replace('_', chr(92) + '_')}`" in readme for name in PATTERN_NAMES)


async def test_generate_stored_models_unreachable_database_names_setting(
        fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, _, query = fresh_database_url.partition("?")
    missing = f"{base.rpartition('/')[0]}/no_such_database_{tmp_path.name[-8:]}"
    monkeypatch.setenv("ONEXGEN_DATABASE_URL", missing + (f"?{query}" if query else ""))
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(REQUEST))
    code = await asyncio.to_thread(main, ["generate", str(request_file), "--out",
                                          str(tmp_path / "out"), "--stored-models"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--stored-models" in err and "ONEXGEN_DATABASE_URL" in err
    assert not (tmp_path / "out").exists()
