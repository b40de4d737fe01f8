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
    pytest.param(16, 8, 2, id="two full shares still shared"),
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


def test_min_chunk_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_chunk must be at least 1"):
        ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=0)
