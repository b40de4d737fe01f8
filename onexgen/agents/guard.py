"""The last line of defence of an agent: a batch that fails unexpectedly is dead-lettered.

Expected failures are handled where they happen (invalid input, retries for
Kafka, the pool and the database). A bug that escapes them must neither stop the
agent (Faust would leave it crashed while the worker runs on) nor lose the batch:
each message goes to the dead-letter topic with the error, then the batch is
acknowledged as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog

from onexgen.agents.runtime import WorkerRuntime
from onexgen.observability.context import correlation_id_from_headers
from onexgen.streams.dead_letter import dead_letter
from onexgen.streams.errors import PublishError
from onexgen.streams.records import InboundMessage
from onexgen.streams.retry import RetryPolicy, retry

log = structlog.get_logger("onexgen.agents.guard")

_FOREVER = RetryPolicy(max_attempts=0, max_delay_s=15.0)


async def guarded(runtime: WorkerRuntime, agent: str, messages: Sequence[InboundMessage],
                  process: Callable[[], Awaitable[object]]) -> bool:
    """Run ``process()``; on an unexpected error dead-letter ``messages``. True if it ran."""
    try:
        await process()
        return True
    except Exception as exc:  # the point of this function: see the module docstring
        reason = f"internal error in the {agent} agent: {type(exc).__name__}: {exc}"
        log.exception("batch_failed", agent=agent, size=len(messages), error=str(exc))
        letters = [dead_letter(m, dlq_topic=runtime.settings.topics.dlq, reason=reason,
                               error_type="internal_error", attempts=1,
                               correlation_id=correlation_id_from_headers(m.headers))
                   for m in messages]
        await retry(lambda: runtime.publisher.publish(letters), policy=_FOREVER,
                    transient=(PublishError,))
        runtime.metrics.dead_letters.labels(reason="internal_error").inc(len(letters))
        return False
