"""Every stage's timing travels back from a pool process when tracing reads them; the
render stage's always (the stage-duration histogram and the alert rules read it)."""

from __future__ import annotations

from typing import Literal

import orjson
import pytest

from onexgen.generation.engine import Engine, EngineConfig, engine_config
from onexgen.generation.job import run_job
from onexgen.settings import Settings

REQUEST = {"request_id": "t-1", "node_type": "compute", "name": "Timed", "domain": "stats",
           "mixins": ["Metrics"]}


@pytest.mark.parametrize(("timings", "stages"), [
    pytest.param(True, {"predict", "detect", "render", "validate"}, id="on"),
    pytest.param(False, {"render"}, id="off"),
])
def test_run_job_sends_all_stage_timings_when_configured_render_always(
        timings: bool, stages: set[str]) -> None:
    engine = Engine(EngineConfig(stage_timings=timings))
    outcome = run_job(orjson.dumps({**REQUEST, "name": f"Timed{timings}"}), "c", engine)
    assert outcome.kind == "result" and not outcome.cached
    assert {name for name, _, _ in outcome.stage_ns} == stages


def test_run_job_result_bytes_do_not_depend_on_stage_timings() -> None:
    raw = orjson.dumps({**REQUEST, "name": "Same"})
    on = run_job(raw, "c", Engine(EngineConfig(stage_timings=True)))
    off = run_job(raw, "c", Engine(EngineConfig(stage_timings=False)))
    assert on.payload == off.payload


@pytest.mark.parametrize(("exporter", "timings"), [("none", False), ("console", True)])
def test_engine_config_keeps_stage_timings_for_tracing_alone(
        exporter: Literal["none", "console"], timings: bool) -> None:
    settings = Settings(tracing_exporter=exporter)
    assert engine_config(settings).stage_timings is timings
