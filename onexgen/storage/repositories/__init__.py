"""One repository per table or view family; each takes the pool and translates errors."""

from onexgen.storage.repositories.events import EventMetricsRepository
from onexgen.storage.repositories.feedback import PatternFeedbackRepository
from onexgen.storage.repositories.generation import GenerationMetricsRepository
from onexgen.storage.repositories.mixins import MixinCompatibilityRepository, canonical_pair
from onexgen.storage.repositories.templates import TemplateCacheRepository, merge_template_updates
from onexgen.storage.repositories.views import ViewsRepository

__all__ = [
    "EventMetricsRepository",
    "GenerationMetricsRepository",
    "MixinCompatibilityRepository",
    "PatternFeedbackRepository",
    "TemplateCacheRepository",
    "ViewsRepository",
    "canonical_pair",
    "merge_template_updates",
]
