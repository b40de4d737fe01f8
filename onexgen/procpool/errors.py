"""Errors of the process pool.

Exception tree::

    ProcessPoolError
    └── WorkerLost   a pool process died (not by our timeout) or the pool is stopped; retry
"""

from __future__ import annotations


class ProcessPoolError(Exception):
    """Root of the pool's errors."""


class WorkerLost(ProcessPoolError):
    """A pool process died (not by our timeout) while it held jobs; retry them."""
