"""A composition probe gives the same verdict when called from inside a running event loop."""

from __future__ import annotations

from onex_runtime.probe import probe_composition


def test_probe_outside_a_loop_valid_set_works() -> None:
    assert probe_composition("effect", ["Retry", "HealthCheck"]).ok


async def test_probe_inside_a_running_loop_gives_the_same_verdicts() -> None:
    assert probe_composition("effect", ["Retry", "HealthCheck"]).ok
    assert not probe_composition("compute", ["Caching"]).ok
