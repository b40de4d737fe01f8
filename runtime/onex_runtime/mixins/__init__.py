"""The mixin library generated nodes import (one name per mixin: ``<Name>Mixin``)."""

from onex_runtime.mixins.events import (
    EventBusMixin,
    EventDrivenNodeMixin,
    EventHandlerMixin,
    NodeLifecycleMixin,
)
from onex_runtime.mixins.execution import (
    HashComputationMixin,
    StatelessMixin,
    SynchronousMixin,
    ValidationMixin,
)
from onex_runtime.mixins.memory import AuditMixin, CachingMixin
from onex_runtime.mixins.observability import (
    HealthCheckMixin,
    LogDataMixin,
    MetricsMixin,
    SensitiveFieldRedactionMixin,
)
from onex_runtime.mixins.persistence import ConnectionMixin, RepositoryMixin, TransactionMixin
from onex_runtime.mixins.resilience import (
    CircuitBreakerMixin,
    RateLimiterMixin,
    RetryMixin,
    TimeoutMixin,
)

__all__ = [
    "AuditMixin",
    "CachingMixin",
    "CircuitBreakerMixin",
    "ConnectionMixin",
    "EventBusMixin",
    "EventDrivenNodeMixin",
    "EventHandlerMixin",
    "HashComputationMixin",
    "HealthCheckMixin",
    "LogDataMixin",
    "MetricsMixin",
    "NodeLifecycleMixin",
    "RateLimiterMixin",
    "RepositoryMixin",
    "RetryMixin",
    "SensitiveFieldRedactionMixin",
    "StatelessMixin",
    "SynchronousMixin",
    "TimeoutMixin",
    "TransactionMixin",
    "ValidationMixin",
]
