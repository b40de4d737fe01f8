"""A small process pool that can kill one stuck job: own processes, pipes, per-job deadlines.

``concurrent.futures.ProcessPoolExecutor`` cannot cancel a running call, so a
hung render would hold its process (and the batch) forever. Here ``size``
spawned processes each get a duplex pipe and two shared numbers (which job of its
chunk it is running, and since when), and the scheduler runs on the caller's event
loop (``pool``): no thread of its own, since each wake-up of a scheduler thread by
the loop's thread and back cost GIL hand-offs (issue 25, BENCHMARKS.md). Its end of
each pipe is read by the loop as soon as it is readable (``channel``):

- a batch is cut into one share per process (large batches into a few rounds,
  to balance uneven jobs); an idle process takes a share at once, and a busy one
  takes the next share behind the chunk it is running (``DEPTH`` chunks a process
  at most), so a process never waits for the scheduler to hear its answers and
  send more while work waits: ``ProcessPoolExecutor`` keeps its queue filled the
  same way. Each chunk is sent as one message. Shares are levelled by what each
  process still holds (its unfinished jobs, read from the shared progress), over every
  live process, so that all finish at about the same time (one whose pipe is full keeps
  its share queued here until it has room): a process holding more than its part gets no
  share, so no job waits in a busy process's pipe while another sits idle (cut
  equally, half a batch did: the pool's part of the latency tail, issue 25). While
  any process is busy, no share is cut below ``min_chunk`` jobs (the most loaded
  process is left out instead): a small batch goes whole to the least loaded
  process, which costs less CPU than waking both for a few jobs each (per-chunk
  work, cold caches). When every process is idle, a batch is shared
  between them however small: nothing else waits for them, and its last job is
  answered in half the time (the latency at light load, issue 25);
- a process sends its answers in groups (every ``FLUSH_S`` once it has
  ``FLUSH_MIN`` of them, and at the end of the chunk: ``child``), so the worker
  process unpickles a few messages per batch, not one per job (measured: per-job
  messages cost the worker 5x the CPU); the pipes' kernel buffers hold a chunk's
  answers, so a process never waits for the loop to read them;
- the shared progress tells the scheduler exactly which job is running (counted
  since the process started, across its chunks) and since when: a busy process has
  one timer, re-armed for its running job's deadline; a job running longer than
  ``job_timeout_s`` gets ``on_timeout``'s answer, its process is killed (SIGKILL)
  and replaced, and every other unanswered job it held (of its chunk and of the one
  queued behind) goes back to the queue for the others;
- a process that dies on its own (its pipe ends) fails its unanswered jobs with
  ``WorkerLost`` (the caller retries the batch) and is replaced.

Processes are spawned (not forked): the worker's event loop, Kafka client
threads and sockets must not be copied into children.
"""

from onexgen.procpool.child import FLUSH_MIN, FLUSH_S, Item
from onexgen.procpool.errors import ProcessPoolError, WorkerLost
from onexgen.procpool.pool import DEPTH, ProcessPool

__all__ = ["DEPTH", "FLUSH_MIN", "FLUSH_S", "Item", "ProcessPool", "ProcessPoolError",
           "WorkerLost"]
