"""The fetch wait a backlog buys: half its drain time at the pool's measured pace, bounded."""

from __future__ import annotations

import pytest

from onexgen.streams.fetch_cadence import BacklogFetchWait


def test_wait_ms_before_the_pool_pace_is_known_is_the_configured_wait() -> None:
    assert BacklogFetchWait(10).wait_ms(3000) == 10


def test_wait_ms_with_a_measured_pace_is_half_the_backlog_drain_time() -> None:
    cadence = BacklogFetchWait(10, cap_ms=1000)
    cadence.pool_busy(100.0, backlog=500)
    cadence.pool_finished(150, 100.15, backlog=350)  # 1 ms a request
    assert cadence.seconds_per_request == pytest.approx(0.001)
    assert cadence.wait_ms(400) == 200
    assert cadence.wait_ms(5) == 10  # never below the configured wait
    assert cadence.wait_ms(0) == 10
    assert cadence.wait_ms(10_000) == 1000  # never above the cap


def test_pool_finished_with_nothing_waiting_takes_no_sample_from_the_next_batch() -> None:
    cadence = BacklogFetchWait(10)
    cadence.pool_busy(0.0, backlog=100)
    cadence.pool_finished(100, 0.1, backlog=0)  # 1 ms a request; then arrivals set the pace
    cadence.pool_finished(5, 0.2, backlog=0)  # 20 ms a request: the arrivals', not taken
    assert cadence.seconds_per_request == pytest.approx(0.001)
    cadence.pool_busy(10.0, backlog=0)  # handed a batch with nothing behind it: not taken
    cadence.pool_finished(5, 10.1, backlog=0)
    assert cadence.seconds_per_request == pytest.approx(0.001)


def test_pool_finished_while_saturated_smooths_the_pace_in() -> None:
    cadence = BacklogFetchWait(10)
    cadence.pool_busy(10.0, backlog=300)
    cadence.pool_finished(100, 10.1, backlog=200)  # 1 ms a request
    cadence.pool_finished(100, 10.4, backlog=100)  # 3 ms a request: smoothed in
    assert cadence.seconds_per_request is not None
    assert 0.001 < cadence.seconds_per_request < 0.003


def test_cap_below_the_configured_wait_keeps_the_configured_wait() -> None:
    cadence = BacklogFetchWait(500, cap_ms=250)
    cadence.pool_busy(0.0, backlog=10)
    cadence.pool_finished(10, 1.0, backlog=0)
    assert cadence.wait_ms(10_000) == 500
