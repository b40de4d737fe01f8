"""The fetch wait a backlog buys: half its drain time at the pool's measured pace, bounded."""

from __future__ import annotations

import pytest

from onexgen.streams.fetch_cadence import BacklogFetchWait


def test_wait_before_the_pool_pace_is_known_is_the_configured_wait() -> None:
    cadence = BacklogFetchWait(10)
    assert cadence.handed(150, 0.0, waiting=3000) == 10


def test_wait_with_a_measured_pace_is_half_the_backlog_drain_time_within_bounds() -> None:
    cadence = BacklogFetchWait(10, cap_ms=1000)
    cadence.handed(150, 100.0, waiting=0)
    cadence.finished(150, 100.15, waiting=0)  # 1 ms a request
    assert cadence.seconds_per_request == pytest.approx(0.001)
    assert cadence.wait_ms(400) == 200
    assert cadence.wait_ms(5) == 10  # never below the configured wait
    assert cadence.wait_ms(0) == 10
    assert cadence.wait_ms(10_000) == 1000  # never above the cap


def test_backlog_counts_batches_behind_the_one_the_pool_works_on() -> None:
    cadence = BacklogFetchWait(10, cap_ms=1000)
    cadence.handed(100, 0.0, waiting=0)
    cadence.finished(100, 0.1, waiting=0)  # 1 ms a request
    assert cadence.handed(150, 1.0, waiting=0) == 10  # the one it works on: not counted
    assert cadence.handed(150, 1.0, waiting=0) == 75  # 150 behind it
    assert cadence.handed(150, 1.0, waiting=100) == 200  # 300 behind it, 100 waiting
    assert cadence.backlog(100) == 400


def test_idle_time_between_batches_is_not_taken_as_the_pool_pace() -> None:
    cadence = BacklogFetchWait(10)
    cadence.handed(100, 0.0, waiting=0)
    cadence.finished(100, 0.1, waiting=0)  # 1 ms a request, then idle for 10 s
    cadence.handed(100, 10.1, waiting=0)
    cadence.finished(100, 10.2, waiting=0)  # 1 ms a request again
    assert cadence.seconds_per_request == pytest.approx(0.001)


def test_finished_with_another_batch_held_measures_from_that_moment() -> None:
    cadence = BacklogFetchWait(10)
    cadence.handed(100, 0.0, waiting=0)
    cadence.handed(100, 0.0, waiting=0)
    cadence.finished(100, 0.1, waiting=0)  # 1 ms a request
    cadence.finished(100, 0.4, waiting=0)  # 3 ms a request: smoothed in
    assert cadence.seconds_per_request is not None
    assert 0.001 < cadence.seconds_per_request < 0.003


def test_cap_below_the_configured_wait_keeps_the_configured_wait() -> None:
    cadence = BacklogFetchWait(500, cap_ms=250)
    cadence.handed(10, 0.0, waiting=0)
    cadence.finished(10, 1.0, waiting=0)
    assert cadence.wait_ms(10_000) == 500
