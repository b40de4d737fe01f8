"""The baselines cut a batch for the pool as ``ProcessPoolExecutor`` is best fed."""

from __future__ import annotations

import pytest

from bench.baseline import cut


@pytest.mark.parametrize(("n", "sizes"), [
    (0, []), (1, [1]), (5, [3, 2]), (200, [100, 100]), (300, [100, 100, 100]),
    (301, [76, 76, 76, 73]),
])
def test_cut_batch_into_chunks_one_per_process_at_least_none_over_the_chunk(
        n: int, sizes: list[int]) -> None:
    parts = cut(list(range(n)), processes=2, chunk=100)
    assert [len(p) for p in parts] == sizes
    assert [i for p in parts for i in p] == list(range(n))  # every item once, in order
