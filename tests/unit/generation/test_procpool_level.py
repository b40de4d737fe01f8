"""How a batch is shared out by what each process already holds (``procpool.pool._level``):
every process should finish at about the same time, no share below the smallest."""

from __future__ import annotations

import asyncio
import os
from multiprocessing.sharedctypes import RawArray
from typing import Any, cast

import pytest

from onexgen.procpool import ProcessPool
from onexgen.procpool.pool import _Batch, _level, _Task, _Worker


@pytest.mark.parametrize(("pending", "backlogs", "smallest", "shares"), [
    pytest.param(40, [0, 35], 16, [40, 0], id="a busy process's part goes to the idle one"),
    pytest.param(40, [0, 10], 16, [40, 0], id="a busy share below the smallest is not cut"),
    pytest.param(40, [0, 10], 8, [25, 15], id="the busy one takes what levels them"),
    pytest.param(6, [0, 0], 1, [3, 3], id="an idle pool shares equally"),
    pytest.param(7, [0, 0], 1, [4, 3], id="the odd job to the least loaded"),
    pytest.param(1, [0, 0], 1, [1, 0], id="one job to one process"),
    pytest.param(6, [0, 1], 8, [6, 0], id="below the smallest goes whole to the least loaded"),
    pytest.param(12, [3, 5, 40], 2, [7, 5, 0], id="three processes, the busiest left out"),
])
def test_level_shares_pending_jobs_by_backlog(pending: int, backlogs: list[int],
                                              smallest: int, shares: list[int]) -> None:
    assert _level(pending, backlogs, smallest) == shares


@pytest.mark.parametrize("pending", [1, 5, 17, 64, 127])
@pytest.mark.parametrize("backlogs", [[0, 0], [0, 3], [2, 9, 30], [1, 1, 1, 1]])
def test_level_hands_out_every_job_once_without_negative_shares(
        pending: int, backlogs: list[int]) -> None:
    shares = _level(pending, backlogs, 4)
    assert sum(shares) == pending
    assert min(shares) >= 0


def _unused(item: object, detail: object) -> None:
    raise AssertionError(f"no job should fail or time out here: {detail}")


async def test_a_process_whose_pipe_is_full_keeps_its_share_queued() -> None:
    loop = asyncio.get_running_loop()
    pool = ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=1)
    pool._loop, pool._started = loop, True

    def worker() -> _Worker:
        return _Worker(cast(Any, None), RawArray("d", 2), loop.create_future(), ready=True)

    free, full = worker(), worker()
    held = _Batch(loop.create_future(), 2)
    full.chunk.extend(_Task(held, i, ("held",)) for i in range(2))
    full.chunks.extend([1, 1])  # two chunks: no room for a third
    pool._workers = [free, full]
    pool.submit([("new",)] * 20)
    try:
        # Levelled over both: 11 now to the free one, 9 kept for the full one, not all 20.
        assert len(free.chunk) == 11
        assert len(pool._pending) == 9
    finally:
        pool._disarm(free)
