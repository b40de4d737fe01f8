"""Through the real process pool: every node type with several mixin sets passes every stage,
known-incompatible sets fail with the right reason, and a template edited on disk reaches a
running pool within seconds. Needs no Kafka or Postgres."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from onexgen.generation.engine import EngineConfig
from onexgen.generation.pool import GenerationPool
from onexgen.generation.render import TEMPLATE_DIR
from onexgen.models.wire import GenerationResult
from tests.unit.generation.test_render import MIXIN_SETS

INCOMPATIBLE = [("effect", ["Retry", "Synchronous"], "must finish each call without suspending"),
                ("compute", ["Caching"], "Caching cannot be used on a COMPUTE node"),
                ("effect", ["Caching", "Stateless"], "which Stateless forbids")]


def _raw(rid: str, node_type: str, mixins: list[str], description: str = "") -> bytes:
    return orjson.dumps({"request_id": rid, "node_type": node_type, "name": "UserStore",
                         "domain": "identity", "description": description,
                         "operations": [{"name": "create_user"}, {"name": "get_user"}],
                         "mixins": mixins})


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[GenerationPool]:
    generation_pool = GenerationPool(2, job_timeout_s=60, shared_cache=False)
    await generation_pool.start()
    yield generation_pool
    await generation_pool.stop()


async def test_pool_every_node_type_and_mixin_set_passes_composition_stage(
    pool: GenerationPool
) -> None:
    cases = [(t, ms) for t, sets in MIXIN_SETS.items() for ms in sets]
    items = [(_raw(f"m{i}", t, list(reversed(ms))), f"c{i}") for i, (t, ms) in enumerate(cases)]
    outcomes = await pool.run(items)
    for (node_type, mixins), outcome in zip(cases, outcomes, strict=True):
        result = GenerationResult.model_validate_json(outcome.payload)
        assert result.status.value == "succeeded", (node_type, mixins, result.error)
        assert [(s.stage, s.passed) for s in result.stages] == [
            ("render", True), ("syntax", True), ("composition", True)]
        if mixins:
            assert outcome.composition is not None and outcome.composition.success
            assert set(outcome.composition.mixins) == set(mixins)


async def test_pool_incompatible_sets_rejected_with_reason_as_static_feedback(
    pool: GenerationPool
) -> None:
    items = [(_raw(f"x{i}", t, ms), "c") for i, (t, ms, _) in enumerate(INCOMPATIBLE)]
    for (_, mixins, reason), outcome in zip(INCOMPATIBLE, await pool.run(items), strict=True):
        assert outcome.status == "rejected" and reason in (outcome.reason or "")
        assert outcome.composition is not None and outcome.composition.source == "static"
        feedback = outcome.composition.feedback(outcome.request_id)
        assert feedback is not None and not feedback.success and reason in (feedback.error or "")
        assert set(feedback.mixins) == set(mixins)


async def test_pool_template_edited_on_disk_picked_up_within_seconds(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, templates)
    pool = GenerationPool(2, shared_cache=False,
                          config=EngineConfig(template_dir=templates, template_recheck_s=1.0))
    await pool.start()
    try:
        (before,) = await pool.run([(_raw("e0", "effect", []), "c")])
        readme = templates / "README.md.j2"
        readme.write_text(readme.read_text() + "\nEdited on disk.\n")
        edited_at = time.monotonic()
        deadline = edited_at + 10
        while True:
            (after,) = await pool.run([(_raw("e1", "effect", []), "c")])
            result = GenerationResult.model_validate_json(after.payload)
            text = next(f.content for f in result.files if f.path == "README.md")
            if text.endswith("Edited on disk.\n") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert text.endswith("Edited on disk.\n"), "edit not picked up within 10 s"
        old = GenerationResult.model_validate_json(before.payload).template_version
        assert result.template_version != old and result.status.value == "succeeded"
    finally:
        await pool.stop()
