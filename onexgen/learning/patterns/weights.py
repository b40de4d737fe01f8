"""How much one feedback event counts, by who gave it: the single source of these numbers.

A person looking at a detection knows what they asked for (1.0); an automated
source (the engine's own checks) is right less often (0.5). The storage layer's
``learning_weight`` column and the model updates both read these constants, so
the database and the model never disagree about a weight.
"""

from __future__ import annotations

from typing import Final

from onexgen.models.wire import FeedbackSource

USER_WEIGHT: Final = 1.0
AUTOMATED_WEIGHT: Final = 0.5
PARTIAL_FACTOR: Final = 0.5
"""A ``partial`` verdict says the pattern is there but the detection was incomplete:
it counts as a positive at half the source's weight."""

SOURCE_WEIGHTS: Final[dict[FeedbackSource, float]] = {
    FeedbackSource.USER: USER_WEIGHT,
    FeedbackSource.AUTOMATED: AUTOMATED_WEIGHT,
}


def weight_for(source: FeedbackSource | str) -> float:
    """The learning weight of a feedback event from ``source`` (``user`` or ``automated``)."""
    return SOURCE_WEIGHTS[FeedbackSource(source)]
