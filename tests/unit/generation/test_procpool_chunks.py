"""How the process pool cuts a batch into chunks: split across processes, unless small."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from onexgen.procpool import ProcessPool


def _unused(item: object, detail: object) -> None:
    raise AssertionError(f"no job should fail or time out here: {detail}")


@pytest.fixture
def pools() -> Iterator[list[ProcessPool]]:
    started: list[ProcessPool] = []
    yield started
    for pool in started:
        pool.stop()


def _pids_answering(pools: list[ProcessPool], batch: int, min_chunk: int) -> set[int]:
    pool = ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=min_chunk)
    pools.append(pool)
    pool.start()
    return set(pool.submit([()] * batch).result(timeout=30))


def test_a_batch_is_shared_between_idle_processes(pools: list[ProcessPool]) -> None:
    assert len(_pids_answering(pools, batch=6, min_chunk=1)) == 2


def test_a_batch_smaller_than_min_chunk_goes_whole_to_one_process(
        pools: list[ProcessPool]) -> None:
    assert len(_pids_answering(pools, batch=6, min_chunk=8)) == 1


def test_a_batch_too_small_for_two_full_shares_is_not_cut_into_a_full_one_and_a_scrap(
        pools: list[ProcessPool]) -> None:
    assert len(_pids_answering(pools, batch=12, min_chunk=8)) == 1


def test_a_batch_of_two_full_shares_is_still_shared(pools: list[ProcessPool]) -> None:
    assert len(_pids_answering(pools, batch=16, min_chunk=8)) == 2


def test_min_chunk_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="min_chunk must be at least 1"):
        ProcessPool(2, os.getpid, on_timeout=_unused, on_error=_unused, min_chunk=0)
