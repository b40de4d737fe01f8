"""A busy process gets its next chunk queued behind the running one, and the per-job
timeout still cuts off exactly the stuck job when chunks queue up in a process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onexgen.procpool import DEPTH, ProcessPool, child
from tests.harness.jobs import gated_pid, open_gate
from tests.harness.receivers import wait_until


def _timed_out(item: object, timeout_s: float) -> tuple[str, object]:
    return ("timed out", item)


def _failed(item: object, detail: object) -> None:
    raise AssertionError(f"no job should fail here: {detail}")


@pytest.fixture
async def pools() -> AsyncIterator[list[ProcessPool]]:
    started: list[ProcessPool] = []
    yield started
    for pool in started:
        await pool.stop()


async def _pool(pools: list[ProcessPool], size: int, timeout_s: float = 30.0) -> ProcessPool:
    pool = ProcessPool(size, gated_pid, on_timeout=_timed_out, on_error=_failed,
                       job_timeout_s=timeout_s, min_chunk=1)
    pools.append(pool)
    await pool.start()
    return pool


async def test_a_batch_arriving_while_every_process_is_busy_is_queued_in_their_pipes_at_once(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    gate = str(tmp_path / "gate")
    pool = await _pool(pools, 2)
    first = pool.submit([("gate", gate), ("gate", gate)])
    await wait_until(lambda: all(len(w.chunks) == 1 for w in pool._workers), 20,
                     "both processes run")
    second = pool.submit([("now", gate), ("now", gate)])
    assert not pool._pending  # sent at once, behind the running chunks
    assert [len(w.chunks) for w in pool._workers] == [DEPTH, DEPTH]
    open_gate(gate)
    assert len(set(await asyncio.wait_for(first, 30))) == 2
    assert len(set(await asyncio.wait_for(second, 30))) == 2


async def test_a_hung_job_in_a_queued_chunk_is_the_one_timed_out(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    gate = str(tmp_path / "gate")
    pool = await _pool(pools, 1, timeout_s=1.0)
    first = pool.submit([("gate", gate), ("now", gate)])
    await wait_until(lambda: len(pool._workers[0].chunks) == 1, 20,
                     "the process runs the first chunk")
    second = pool.submit([("hang", gate), ("now", gate)])
    assert len(pool._workers[0].chunks) == DEPTH  # the second chunk is queued
    open_gate(gate)
    first_pids = await asyncio.wait_for(first, 30)
    answers = await asyncio.wait_for(second, 30)
    assert answers[0] == ("timed out", ("hang", gate))
    assert isinstance(answers[1], int) and answers[1] not in first_pids  # the replacement's
    assert pool.timeouts == 1


async def test_a_hung_job_with_a_chunk_queued_behind_it_requeues_that_chunk(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    gate = str(tmp_path / "gate")
    pool = await _pool(pools, 1, timeout_s=1.0)
    first = pool.submit([("hang", gate), ("now", gate)])
    await wait_until(lambda: len(pool._workers[0].chunks) == 1, 20,
                     "the process runs the first chunk")
    second = pool.submit([("now", gate), ("now", gate)])
    answers = await asyncio.wait_for(first, 30)
    assert answers[0] == ("timed out", ("hang", gate))
    assert len(set(await asyncio.wait_for(second, 30))) == 1
    assert pool.timeouts == 1


class _Sent:
    """Stands in for a process's end of the pipe: records what it sends."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[tuple[bool, object]]]] = []

    def send(self, message: tuple[str, list[tuple[bool, object]]]) -> None:
        self.messages.append(message)


def test_slow_jobs_send_their_answers_in_groups_of_flush_min_not_one_each(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child, "FLUSH_S", 0.0)  # every job is "slow": past the interval
    conn, progress = _Sent(), [0.0, 0.0]
    child.run_chunk(conn, progress, lambda x: x, [(i,) for i in range(10)],  # type: ignore[arg-type]
                    first=5)
    sizes = [len(answers) for _, answers in conn.messages]
    assert sizes == [child.FLUSH_MIN, 10 - child.FLUSH_MIN]
    assert [a for _, answers in conn.messages for _, a in answers] == list(range(10))
    assert progress[0] == 5 + 9  # the job counter spans chunks: the last job's number
