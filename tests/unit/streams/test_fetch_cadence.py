"""The fetch wait a backlog buys: half its drain time at the pool's measured pace, bounded."""

from __future__ import annotations

import pytest

from onexgen.streams.fetch_cadence import BacklogFetchWait


def test_wait_ms_before_the_pool_pace_is_known_is_the_configured_wait() -> None:
    assert BacklogFetchWait(10).wait_ms(3000) == 10


def test_wait_ms_with_a_measured_pace_is_half_the_backlog_drain_time() -> None:
    cadence = BacklogFetchWait(10, cap_ms=1000)
    cadence.pool_busy(100.0)
    cadence.pool_finished(150, 100.15, idle=False)  # 1 ms a request
    assert cadence.seconds_per_request == pytest.approx(0.001)
    assert cadence.wait_ms(400) == 200
    assert cadence.wait_ms(5) == 10  # never below the configured wait
    assert cadence.wait_ms(0) == 10
    assert cadence.wait_ms(10_000) == 1000  # never above the cap


def test_pool_finished_after_an_idle_stretch_measures_only_the_busy_time() -> None:
    cadence = BacklogFetchWait(10)
    cadence.pool_busy(0.0)
    cadence.pool_finished(100, 0.1, idle=True)  # 1 ms a request, then idle for 10 s
    cadence.pool_finished(100, 10.2, idle=True)  # not handed a batch: no sample
    assert cadence.seconds_per_request == pytest.approx(0.001)
    cadence.pool_busy(10.0)
    cadence.pool_finished(100, 10.3, idle=False)  # 3 ms a request: smoothed in
    cadence.pool_finished(100, 10.4, idle=True)  # 1 ms a request, from the previous batch
    assert cadence.seconds_per_request is not None
    assert 0.001 < cadence.seconds_per_request < 0.003


def test_cap_below_the_configured_wait_keeps_the_configured_wait() -> None:
    cadence = BacklogFetchWait(500, cap_ms=250)
    cadence.pool_busy(0.0)
    cadence.pool_finished(10, 1.0, idle=True)
    assert cadence.wait_ms(10_000) == 500
