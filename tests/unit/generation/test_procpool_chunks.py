"""How the process pool cuts a batch into chunks: split across processes, unless small
while a process is busy; an idle pool shares any batch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onexgen.procpool import ProcessPool
from tests.harness.jobs import gated_pid, open_gate
from tests.harness.receivers import wait_until


def _unused(item: object, detail: object) -> None:
    raise AssertionError(f"no job should fail or time out here: {detail}")


@pytest.fixture
async def pools() -> AsyncIterator[list[ProcessPool]]:
    started: list[ProcessPool] = []
    yield started
    for pool in started:
        await pool.stop()


async def _busy_pool(pools: list[ProcessPool], min_chunk: int, gate: str) -> ProcessPool:
    """A started pool of two, one process held by a gated job until ``gate`` exists."""
    pool = ProcessPool(2, gated_pid, on_timeout=_unused, on_error=_unused, min_chunk=min_chunk)
    pools.append(pool)
    await pool.start()
    return pool


async def _pids_answering(pools: list[ProcessPool], batch: int, min_chunk: int,
                          tmp_path: Path) -> set[int]:
    """Pids answering ``batch`` jobs submitted while one of the two processes is busy."""
    gate = str(tmp_path / "gate")
    pool = await _busy_pool(pools, min_chunk, gate)
    held = pool.submit([("gate", gate)])
    await wait_until(lambda: any(w.chunk for w in pool._workers), 20,
                     "the gated job reached a process")
    answers = pool.submit([("now", gate)] * batch)
    open_gate(gate)
    await asyncio.wait_for(held, 30)
    return set(await asyncio.wait_for(answers, 30))


@pytest.mark.parametrize(("batch", "min_chunk", "processes"), [
    pytest.param(6, 1, 2, id="shared with min_chunk one"),
    pytest.param(6, 8, 1, id="smaller than min_chunk goes whole to one process"),
    pytest.param(12, 8, 1, id="too small for two full shares is not cut into one and a scrap"),
    pytest.param(18, 8, 2, id="two full shares after levelling still shared"),
])
async def test_a_batch_while_one_process_is_busy_is_cut_by_min_chunk(
        pools: list[ProcessPool], tmp_path: Path, batch: int, min_chunk: int,
        processes: int) -> None:
    answered = await _pids_answering(pools, batch=batch, min_chunk=min_chunk,
                                     tmp_path=tmp_path)
    assert len(answered) == processes


async def test_a_small_batch_on_an_idle_pool_is_shared_between_its_processes(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    pool = await _busy_pool(pools, 8, str(tmp_path / "unused"))
    assert len(set(await asyncio.wait_for(pool.submit([("now", "")] * 2), 30))) == 2


async def test_a_batch_while_one_process_holds_a_backlog_goes_to_the_idle_one(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    gate = str(tmp_path / "gate")
    pool = await _busy_pool(pools, 1, gate)
    # An idle pool shares the first batch: one process gets the gated job and 9 behind it.
    first = pool.submit([("gate", gate)] + [("now", gate)] * 19)
    await wait_until(lambda: sum(1 for w in pool._workers if w.chunk) == 1, 20,
                     "the process without the gated job answered its share")
    held = next(w.process.pid for w in pool._workers if w.chunk)
    # Cut in two, four of these would wait behind the gated job: levelled, none do.
    answered = set(await asyncio.wait_for(pool.submit([("now", gate)] * 8), 30))
    assert held not in answered
    assert len(answered) == 1
    open_gate(gate)
    await asyncio.wait_for(first, 30)


def test_min_chunk_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_chunk must be at least 1"):
        ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=0)
