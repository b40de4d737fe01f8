"""Pydantic models: the wire messages on Kafka, table rows and view rows.

The topics and these schemas are the public API (``onexgen schema export``).
"""

from onexgen.models.wire import (
    FEEDBACK_ADAPTER,
    WIRE_MODELS,
    AlertMessage,
    AlertStatus,
    DeadLetter,
    Feedback,
    FeedbackSource,
    GeneratedFile,
    GenerationRequest,
    GenerationResult,
    MixinFeedback,
    NodeType,
    Operation,
    PatternFeedback,
    PatternFeedbackType,
    ResultStatus,
    StageOutcome,
)

__all__ = [
    "FEEDBACK_ADAPTER",
    "WIRE_MODELS",
    "AlertMessage",
    "AlertStatus",
    "DeadLetter",
    "Feedback",
    "FeedbackSource",
    "GeneratedFile",
    "GenerationRequest",
    "GenerationResult",
    "MixinFeedback",
    "NodeType",
    "Operation",
    "PatternFeedback",
    "PatternFeedbackType",
    "ResultStatus",
    "StageOutcome",
]
