"""The worker's garbage-collector settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from onexgen.support.heap import WORKER_YOUNG_COLLECTION_EVERY, collect_young_every


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


def test_collect_young_every_sets_the_youngest_threshold_and_keeps_the_others(
        thresholds: tuple[int, int, int]) -> None:
    collect_young_every(WORKER_YOUNG_COLLECTION_EVERY)
    assert gc.get_threshold() == (WORKER_YOUNG_COLLECTION_EVERY, *thresholds[1:])


def test_collect_young_every_when_allocations_stay_below_collects_nothing(
        thresholds: tuple[int, int, int]) -> None:
    collect_young_every(WORKER_YOUNG_COLLECTION_EVERY)
    collections: list[int] = []
    gc.callbacks.append(lambda phase, info: collections.append(info["generation"]))
    try:
        gc.collect(0)  # start from an empty youngest generation
        collections.clear()
        kept: list[list[int]] = [[] for _ in range(WORKER_YOUNG_COLLECTION_EVERY // 2)]
        assert collections == [] and len(kept) == WORKER_YOUNG_COLLECTION_EVERY // 2
        more: list[list[int]] = [[] for _ in range(WORKER_YOUNG_COLLECTION_EVERY)]
        assert collections and len(more) == WORKER_YOUNG_COLLECTION_EVERY  # past it: once
    finally:
        gc.callbacks.pop()
