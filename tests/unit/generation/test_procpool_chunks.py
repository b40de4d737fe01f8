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


async def test_a_batch_is_shared_between_processes_with_min_chunk_one(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    assert len(await _pids_answering(pools, batch=6, min_chunk=1, tmp_path=tmp_path)) == 2


async def test_a_batch_smaller_than_min_chunk_goes_whole_to_one_process_while_one_is_busy(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    assert len(await _pids_answering(pools, batch=6, min_chunk=8, tmp_path=tmp_path)) == 1


async def test_a_batch_too_small_for_two_full_shares_is_not_cut_into_a_full_one_and_a_scrap(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    assert len(await _pids_answering(pools, batch=12, min_chunk=8, tmp_path=tmp_path)) == 1


async def test_a_batch_of_two_full_shares_is_still_shared(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    assert len(await _pids_answering(pools, batch=16, min_chunk=8, tmp_path=tmp_path)) == 2


async def test_a_small_batch_on_an_idle_pool_is_shared_between_its_processes(
        pools: list[ProcessPool], tmp_path: Path) -> None:
    pool = await _busy_pool(pools, 8, str(tmp_path / "unused"))
    assert len(set(await asyncio.wait_for(pool.submit([("now", "")] * 2), 30))) == 2


def test_min_chunk_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_chunk must be at least 1"):
        ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=0)
