"""Errors of the alerting package, all under one root so callers can catch the family.

    AlertingError                  root
     ├── RuleConfigError           the rules YAML is unreadable or invalid (fix the file)
     ├── ManagerConfigError        the alert-manager YAML is invalid or names an unset
     │                             environment variable (fix the file or export the variable)
     ├── MatcherError              a label matcher like ``k=v`` / ``k=~re`` does not parse
     ├── DurationError             a duration is not in Prometheus' form (``30s``, ``1h30m``)
     ├── AlertmanagerError         the external Alertmanager refused or is unreachable
     └── DeliveryError             a receiver did not take a notification; ``retryable``
                                   says whether the delivery queue tries again (a message
                                   that cannot even be built is not retryable: poison)
"""

from __future__ import annotations


class AlertingError(Exception):
    """Root of every alerting failure."""


class RuleConfigError(AlertingError):
    """The alert rules file cannot be used as it is; the message names file and field."""


class ManagerConfigError(AlertingError):
    """The alert-manager configuration cannot be used as it is."""


class MatcherError(AlertingError, ValueError):
    """A label matcher is malformed; the message shows the accepted forms."""


class DurationError(AlertingError, ValueError):
    """A duration is not written as Prometheus writes it; the message shows the form."""


class AlertmanagerError(AlertingError):
    """The external Alertmanager (``ONEXGEN_ALERTMANAGER_URL``) did not take the alerts."""


class DeliveryError(AlertingError):
    """A receiver failed to deliver; ``retryable`` is False for answers a retry cannot fix."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
