"""One repository per table or view family; each takes the pool and translates errors."""

from storage.repositories.events import EventMetricsRepository
from storage.repositories.feedback import PatternFeedbackRepository
from storage.repositories.generation import GenerationMetricsRepository
from storage.repositories.mixins import MixinCompatibilityRepository, canonical_pair
from storage.repositories.templates import TemplateCacheRepository, merge_template_updates
from storage.repositories.views import ViewsRepository

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
