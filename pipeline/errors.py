"""Errors of the pipeline package.

    PipelineError
    └── PoolUnavailable   the process pool lost a worker; transient, the batch is retried
"""


class PipelineError(Exception):
    """Root of every error raised by ``pipeline``."""


class PoolUnavailable(PipelineError):
    """A pool process died mid-batch; a new pool is started and the batch retried."""
