"""A pool process holds BLAS and OpenMP to one thread: theirs would spin on the pool's cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHILD = """
import json, sys
from threadpoolctl import threadpool_info
if sys.argv[1] == "before":
    import numpy  # loaded before the engine is configured
from onexgen.generation.engine import EngineConfig, configure
configure(EngineConfig())
import numpy, scipy.sparse, sklearn.linear_model  # what detection loads with a first chunk
print(json.dumps([i["num_threads"] for i in threadpool_info()]))
"""


@pytest.mark.parametrize("numpy_loaded", ["before", "after"])
def test_configure_limits_blas_and_openmp_to_one_thread(numpy_loaded: str) -> None:
    # Its own process: the limit is process-wide and would follow the other tests.
    done = subprocess.run([sys.executable, "-c", CHILD, numpy_loaded], capture_output=True,
                          text=True, timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert threads and threads == [1] * len(threads)


def test_without_configure_blas_would_run_threads() -> None:
    """The check above can fail: on this machine BLAS starts a thread a core by default."""
    child = "import json, numpy\nfrom threadpoolctl import threadpool_info\n" \
            "print(json.dumps([i['num_threads'] for i in threadpool_info()]))"
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert max(threads) > 1 or (os.cpu_count() or 1) == 1
