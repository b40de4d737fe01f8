"""Errors of the alerting package, all under one root so callers can catch the family.

    AlertingError                  root
     ├── RuleConfigError           the rules YAML is unreadable or invalid (fix the file)
     ├── ManagerConfigError        the alert-manager YAML is invalid or names an unset
     │                             environment variable (fix the file or export the variable)
     ├── MatcherError              a label matcher like ``k=v`` / ``k=~re`` does not parse
     └── DeliveryError             a receiver did not take a notification; ``retryable``
                                   says whether the delivery queue tries again
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


class DeliveryError(AlertingError):
    """A receiver failed to deliver; ``retryable`` is False for answers a retry cannot fix."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
