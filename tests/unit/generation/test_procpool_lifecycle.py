"""The pool's life on the event loop: no thread of its own, a failed start named, a stop
that fails what is left, and a process that dies replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onexgen.procpool import ProcessPool, WorkerLost
from tests.harness.jobs import failing_start, gated_pid, open_gate
from tests.harness.receivers import wait_until


def _unused(item: object, detail: object) -> None:
    raise AssertionError(f"no job should fail or time out here: {detail}")


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPool]:
    started = ProcessPool(2, gated_pid, on_timeout=_unused, on_error=_unused)
    await started.start()
    yield started
    await started.stop()


async def test_a_started_pool_runs_its_scheduler_on_the_loop_with_no_thread(
        pool: ProcessPool) -> None:
    assert not [t for t in threading.enumerate() if t.name == "onexgen-pool"]
    before = threading.active_count()
    answers = await asyncio.wait_for(pool.submit([("now", "")] * 20), 30)
    assert set(answers) == set(pool.pids()) and threading.active_count() == before


async def test_an_initializer_that_fails_fails_the_start_naming_its_error() -> None:
    pool = ProcessPool(2, gated_pid, on_timeout=_unused, on_error=_unused,
                       initializer=failing_start)
    with pytest.raises(WorkerLost, match="failed to start: its initializer failed: "
                                         "RuntimeError: no templates"):
        await pool.start()
    assert pool.pids() == []
    with pytest.raises(WorkerLost, match="not started"):
        pool.submit([("now", "")])


async def test_stop_fails_queued_and_running_work_with_worker_lost(tmp_path: Path) -> None:
    pool = ProcessPool(1, gated_pid, on_timeout=_unused, on_error=_unused)
    await pool.start()
    gate = str(tmp_path / "gate")
    running = pool.submit([("gate", gate)])
    queued = pool.submit([("now", gate)] * 3)
    await pool.stop()
    for future in (running, queued):
        with pytest.raises(WorkerLost, match="stopped"):
            await future
    assert pool.pids() == []


async def test_a_process_killed_fails_its_jobs_and_is_replaced_while_the_other_answers(
        pool: ProcessPool, tmp_path: Path) -> None:
    gate = str(tmp_path / "gate")
    held = pool.submit([("gate", gate), ("gate", gate)])  # one a process
    await wait_until(lambda: all(w.chunk for w in pool._workers), 20, "both processes hold one")
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerLost, match="replaced, retry the batch"):
        await asyncio.wait_for(held, 30)
    assert victim not in pool.pids() and pool.replaced == 1
    open_gate(gate)
    await wait_until(lambda: all(w.ready for w in pool._workers), 60, "the replacement to start")
    answers = await asyncio.wait_for(pool.submit([("now", "")] * 4), 30)
    assert set(answers) == set(pool.pids())  # the replacement takes its share
