"""The pattern library: every pattern's name, its definition, and what it suggests.

The definitions are the labeling rules of the evaluation set (issue 5, item 7);
the detector's rules and the labels are both judged against this text. The mixin
suggestions let detected patterns shape the generated code (e.g. ``caching`` ->
the Caching mixin) without the codegen layer knowing about detection.
"""

from __future__ import annotations

from dataclasses import dataclass

from onexgen.learning.patterns.errors import UnknownPatternError


@dataclass(frozen=True, slots=True)
class PatternDefinition:
    name: str
    definition: str
    mixins: tuple[str, ...] = ()


PATTERNS: tuple[PatternDefinition, ...] = (
    PatternDefinition(
        "crud", "at least two of create/read/update/delete on the node's own stored records "
        "(an upsert counts as create and update; one kind of write alone is not crud)",
        ("Repository", "Transaction")),
    PatternDefinition(
        "transformation", "converts data from one shape or format to another (parse, map, "
        "convert, serialize, normalize, render)", ("CanonicalYAMLSerializer",)),
    PatternDefinition(
        "aggregation", "combines many items into summaries (sum, count, average, group-by, "
        "rollups, statistics)", ()),
    PatternDefinition(
        "orchestration", "coordinates several steps or services in a workflow (saga, "
        "sequencing, fan-out/fan-in, compensation; a saga's undo steps are orchestration, "
        "not resilience)", ("DagSupport",)),
    PatternDefinition(
        "event_publishing", "emits events or messages to a bus, topic or queue for others "
        "(reading from a topic is not publishing)", ("EventBus",)),
    PatternDefinition(
        "caching", "keeps results to avoid recomputation or refetching", ("Caching",)),
    PatternDefinition(
        "resilience", "handles dependency failure (retry with backoff, circuit breaker, "
        "timeout, fallback, bulkhead)", ("Retry", "CircuitBreaker", "Timeout")),
    PatternDefinition(
        "validation", "checks data against rules or schemas and rejects or flags what fails",
        ("Validation",)),
    PatternDefinition(
        "batch_processing", "works through items in batches, chunks or bulk runs", ()),
    PatternDefinition(
        "query", "search, filter, sort, paginate or look up by criteria (fetching one item by "
        "id is not query)", ()),
    PatternDefinition(
        "notification", "sends messages to people or external endpoints (e-mail, SMS, push, "
        "Slack, outgoing webhooks; receiving a webhook is not notification)", ()),
    PatternDefinition(
        "scheduling", "the node itself runs on a timer, cron, interval or delay", ()),
)

PATTERN_NAMES: tuple[str, ...] = tuple(p.name for p in PATTERNS)
_BY_NAME = {p.name: p for p in PATTERNS}


def definition_of(name: str) -> PatternDefinition:
    """The library entry for ``name``; raises ``UnknownPatternError`` naming the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownPatternError(name, PATTERN_NAMES) from None


def check_pattern(name: str) -> str:
    """``name`` if it is a library pattern, else ``UnknownPatternError``."""
    definition_of(name)
    return name
