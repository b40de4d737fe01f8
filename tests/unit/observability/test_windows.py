"""Sample windows that share their observations read like separate windows would."""

from __future__ import annotations

import pytest

from onexgen.observability.monitor import Monitor
from onexgen.observability.windows import SampleWindow


def _separate_and_shared() -> tuple[list[SampleWindow], list[SampleWindow]]:
    aggregates = ("p50", "p95", "p99", "max", "mean")
    separate = [SampleWindow(10.0, a) for a in aggregates]  # type: ignore[arg-type]
    first = SampleWindow(10.0, "p50")
    shared = [first] + [first.sharing(a) for a in aggregates[1:]]  # type: ignore[arg-type]
    return separate, shared


def test_windows_sharing_observations_read_as_separate_windows_do() -> None:
    separate, shared = _separate_and_shared()
    for t, value in enumerate([5.0, 1.0, 9.0, 3.0, 7.0]):
        for window in separate:
            window.add(float(t), value)
        shared[0].add(float(t), value)  # written once for all of them
    expected = [w.value(5.0) for w in separate]
    assert [w.value(5.0) for w in shared] == expected == [5.0, pytest.approx(8.6),
                                                          pytest.approx(8.92), 9.0, 5.0]


def test_a_write_through_one_sharing_window_is_seen_by_the_others() -> None:
    _, shared = _separate_and_shared()
    shared[0].add(0.0, 1.0)
    assert shared[3].value(0.0) == 1.0  # max, cached now
    shared[0].add(0.0, 50.0)
    assert shared[3].value(0.0) == 50.0
    assert shared[2].value(0.0) == pytest.approx(49.51)


def test_sharing_windows_forget_aged_samples_together() -> None:
    _, shared = _separate_and_shared()
    shared[0].add(0.0, 100.0)
    shared[0].add(8.0, 2.0)
    assert shared[3].value(9.0) == 100.0
    assert shared[3].value(11.0) == 2.0  # the sample of t=0 aged out for all
    assert shared[1].value(11.0) == 2.0 and len(shared[4]) == 1


def test_the_monitor_writes_a_request_latency_once_and_reads_three_percentiles() -> None:
    monitor = Monitor(clock=lambda: 100.0)
    monitor.observe_batch(4, 0.01, succeeded=4, failed=0, dead_lettered=0,
                          latencies_ms=[10.0, 20.0, 30.0, 40.0])
    snapshot = monitor.snapshot()
    assert snapshot["event_latency_p50_ms"] == 25.0
    assert snapshot["event_latency_p99_ms"] == pytest.approx(39.7)
    assert snapshot["event_latency_p95_ms"] == pytest.approx(38.5)
    assert len(monitor._samples["event_latency_p95_ms"]) == 4  # each latency once
