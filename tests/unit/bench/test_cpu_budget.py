"""The benchmarks' budget counts a group's page faults along with its CPU."""

from __future__ import annotations

import mmap
import os

from bench.cpu_budget import CpuBudget, usage


def test_budget_counts_the_page_faults_a_group_took() -> None:
    budget = CpuBudget({"this test": lambda: [os.getpid()], "nobody": lambda: []})
    budget.start()
    pages = 64
    with mmap.mmap(-1, pages * mmap.PAGESIZE) as fresh:  # fresh pages fault in when touched
        for page in range(pages):
            fresh[page * mmap.PAGESIZE] = 1
    budget.stop()
    assert budget.faults["this test"] >= pages
    assert budget.faults["nobody"] == 0
    assert set(budget.used) == set(budget.faults) == {"this test", "nobody"}


def test_a_process_that_is_gone_has_used_nothing() -> None:
    assert usage(2**22 + 12345) == (0.0, 0)
