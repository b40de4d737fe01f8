"""What tests and benchmarks share: a real worker process, Kafka I/O, the result watcher.

``tests.harness.worker`` starts ``onexgen worker`` processes and scratch databases;
``tests.harness.kafka`` produces and collects records; ``tests.harness.results``
follows a results topic; ``tests.harness.jobs`` holds pool jobs that are slow or hang
on purpose (the seam the pool tests use instead of hooks in production code);
``tests.harness.receivers`` are local HTTP and SMTP servers that record what they get.
"""

from tests.harness.results import ResultWatcher
from tests.harness.worker import (
    ROOT,
    WorkerProcess,
    free_port,
    running_worker,
    scratch_database,
    wait_for_count,
)

__all__ = ["ROOT", "ResultWatcher", "WorkerProcess", "free_port", "running_worker",
           "scratch_database", "wait_for_count"]
