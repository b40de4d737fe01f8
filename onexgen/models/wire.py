"""Messages on the five topics, as producers in any language see them (JSON)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from onexgen.models.identifiers import NodeName, RequestId, SnakeName

SCHEMA_VERSION = 1
"""The major version every message carries in ``schema_version``: it changes only with a
breaking change (see ``COMPATIBILITY``)."""
SCHEMA_REVISION = 1
"""Additive changes within the major version: 1.0 rejected unknown fields, 1.1 ignores them."""
SCHEMA_ID = "urn:onexgen:schema:{name}:v" + str(SCHEMA_VERSION)

COMPATIBILITY = f"""\
Compatibility policy (schema {SCHEMA_VERSION}.{SCHEMA_REVISION}). In the terms of Kafka's schema
registries, every message schema is **fully compatible** within its major version
(`schema_version`), transitively: backward (a newer reader reads what any older writer
wrote) and forward (an older reader reads what a newer writer writes).

- **Readers ignore fields they do not know.** A worker of this version accepts a request or
  feedback message with extra fields (at any depth) and generates exactly what it would
  without them; consumers of results, alerts and dead letters must do the same. The schemas
  therefore do not set `additionalProperties: false`. A misspelt optional field is ignored
  too: validate your messages against the exported schema in your own tests.
- **What a newer writer may add within a major version:** optional fields with a default
  that keeps today's behaviour, new values where a reader is told to expect them, looser
  limits. Never: removing, renaming or retyping a field, making one required, tightening a
  limit, or changing what a present field means.
- **Breaking changes bump `schema_version`.** A worker dead-letters a message whose
  `schema_version` it does not support, with a reason naming the version it expects;
  producers upgrade after the workers do.
- Each exported schema has an `$id` (`urn:onexgen:schema:<message>:v<major>`) and
  `x-schema-version` (`<major>.<revision>`); the revision rises with every additive change.
"""


class NodeType(StrEnum):
    EFFECT = "effect"
    COMPUTE = "compute"
    REDUCER = "reducer"
    ORCHESTRATOR = "orchestrator"


class _Wire(BaseModel):
    # extra="ignore": readers ignore fields they do not know (COMPATIBILITY above).
    model_config = ConfigDict(extra="ignore", frozen=True, str_max_length=20_000)


class Operation(_Wire):
    """One operation the node offers; its name becomes a method name."""

    name: SnakeName
    description: str = Field("", max_length=500)


class GenerationRequest(_Wire):
    """A request on ``<prefix>.requests``. ``request_id`` is the idempotency key."""

    schema_version: Literal[1] = 1
    request_id: RequestId
    node_type: NodeType
    name: NodeName = Field(description="node name, e.g. UserStore -> NodeUserStoreEffect")
    domain: SnakeName = Field(description="snake_case domain, e.g. identity")
    description: str = Field("", max_length=2_000)
    operations: list[Operation] = Field(default_factory=list, max_length=50)
    mixins: list[NodeName] = Field(default_factory=list, max_length=32)
    version: str = Field("1.0.0", pattern=r"^\d{1,4}\.\d{1,4}\.\d{1,4}$")


class ResultStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"


MAX_FILE_CHARS = 400_000
"""Longest generated file a result may carry. Derived from the request limits above: the
largest request they admit (64-character names, a 2,000-character description, 50
operations with 500-character descriptions, every character one that escapes to ten)
renders files of up to about 324,000 characters, and its whole result stays under Kafka's
default ``message.max.bytes`` (1,048,588); tests/unit/generation/test_limits.py renders
it. The 20,000 of every other string would refuse packages the schema admits."""


class GeneratedFile(_Wire):
    path: str = Field(description="relative POSIX path inside the generated package")
    content: str = Field(max_length=MAX_FILE_CHARS)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class StageOutcome(_Wire):
    """One validation or generation stage, as recorded on the result.

    No timings here: a result is a pure function of the request and the template
    version, so a re-delivered request yields byte-identical results. Timings
    travel in the ``x-duration-ms`` header, in metrics and in Postgres.
    """

    stage: str
    passed: bool
    detail: str = ""


class DetectedPatternInfo(_Wire):
    """A pattern found in the request's description, operations and name."""

    name: str
    confidence: float = Field(ge=0, le=1)
    suggested_mixins: list[str] = Field(default_factory=list)


class GenerationResult(_Wire):
    """A result on ``<prefix>.results``, keyed by ``request_id``.

    ``rejected``: the request is valid JSON but cannot be generated as asked
    (unknown or conflicting mixins); ``failed``: generation or validation of the
    generated code failed; ``succeeded``: ``files`` holds the package.
    """

    schema_version: Literal[1] = 1
    request_id: str
    status: ResultStatus
    node_type: NodeType | None = None
    class_name: str | None = None
    package: str | None = None
    files: list[GeneratedFile] = Field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    stages: list[StageOutcome] = Field(default_factory=list)
    patterns: list[DetectedPatternInfo] = Field(default_factory=list)
    suggested_mixins: list[str] = Field(
        default_factory=list, description="mixins the detected patterns suggest, not requested")
    template_version: str | None = None
    generator_version: str
    correlation_id: str | None = None


class FeedbackSource(StrEnum):
    USER = "user"
    AUTOMATED = "automated"


class PatternFeedbackType(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    PARTIAL = "partial"
    ADJUSTED = "adjusted"


class PatternFeedback(_Wire):
    """Was a detected pattern right? ``actual_pattern`` says what it should have been."""

    kind: Literal["pattern"] = "pattern"
    request_id: RequestId
    pattern_name: str = Field(max_length=64)
    detected_confidence: float = Field(ge=0, le=1)
    feedback_type: PatternFeedbackType
    actual_pattern: str | None = Field(None, max_length=64)
    source: FeedbackSource = FeedbackSource.USER
    comment: str = Field("", max_length=2_000)


class MixinFeedback(_Wire):
    """Did a node with this mixin set work in use? ``error`` says why not."""

    kind: Literal["mixin"] = "mixin"
    request_id: RequestId | None = None
    node_type: NodeType
    mixins: list[NodeName] = Field(min_length=1, max_length=32)
    success: bool
    error: str | None = Field(None, max_length=2_000)
    source: FeedbackSource = FeedbackSource.USER


Feedback = Annotated[PatternFeedback | MixinFeedback, Field(discriminator="kind")]
"""A message on ``<prefix>.feedback``: one pattern or mixin event, told apart by ``kind``."""

FEEDBACK_ADAPTER: TypeAdapter[PatternFeedback | MixinFeedback] = TypeAdapter(Feedback)


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertMessage(_Wire):
    """A state change of one alert on ``<prefix>.alerts``, keyed by ``fingerprint``."""

    fingerprint: str = Field(pattern=r"^[0-9a-f]{16,64}$")
    rule: str
    status: AlertStatus
    severity: Literal["info", "warning", "critical"]
    metric: str
    value: float
    threshold: float
    comparison: Literal[">", "<", ">=", "<=", "==", "!="]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    generator: str = "onexgen"


class DeadLetter(_Wire):
    """What ``onexgen tail dlq`` shows for a message on ``<prefix>.dlq``.

    On the topic itself the dead letter's value is the original message's bytes,
    unchanged (so it can be replayed as is), its key the original key, and its
    headers the original headers plus ``x-error``, ``x-error-type``,
    ``x-origin-topic``, ``x-origin-partition``, ``x-origin-offset``,
    ``x-attempts`` and ``x-failed-at``.
    """

    error: str
    error_type: str
    origin_topic: str
    origin_partition: int
    origin_offset: int
    attempts: int = Field(ge=1)
    failed_at: datetime
    correlation_id: str | None = None
    original_key: str | None = None
    original_value: str = Field(description="original bytes, decoded as UTF-8 with replacement")
    original_headers: dict[str, str] = Field(default_factory=dict)


WIRE_MODELS: dict[str, TypeAdapter[Any]] = {
    "request": TypeAdapter(GenerationRequest),
    "result": TypeAdapter(GenerationResult),
    "feedback": FEEDBACK_ADAPTER,
    "alert": TypeAdapter(AlertMessage),
    "dead-letter": TypeAdapter(DeadLetter),
}


def dump_json(model: BaseModel) -> bytes:
    """Compact JSON bytes for the wire."""
    return model.model_dump_json(exclude_none=False).encode()


def schema_of(name: str) -> dict[str, Any]:
    """JSON Schema of one wire message, as ``onexgen schema export`` writes it."""
    schema = WIRE_MODELS[name].json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID.format(name=name)
    schema["x-schema-version"] = f"{SCHEMA_VERSION}.{SCHEMA_REVISION}"
    schema.setdefault("title", name)
    return schema
