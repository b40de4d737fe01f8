"""Alerting knobs, read from ``ONEXGEN_*`` variables like the worker's own settings.

Kept here (rather than in ``onexgen.settings``) so alerting can be configured
before the fields move into the main ``Settings``; :func:`alerting_settings`
prefers a field of the worker's settings object when it has one, so moving
them later changes no caller.

========================================  ===========================  ======================
variable                                  default                      meaning
========================================  ===========================  ======================
ONEXGEN_ALERT_RULES_FILE                  config/alert_rules.yaml      rules (YAML)
ONEXGEN_ALERTMANAGER_CONFIG               config/alertmanager.yaml     routes and receivers
ONEXGEN_HEALTH_BUDGET_MS                  100                          whole /health budget
ONEXGEN_HEALTH_STALL_AFTER_S              60                           lag without progress
ONEXGEN_DASHBOARD_REFRESH_MS              1000                         page poll interval
ONEXGEN_ALERT_INSTANCE                    <hostname>:<web port>        ``instance`` label
========================================  ===========================  ======================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from onexgen.alerting.config import DEFAULT_MANAGER_FILE
from onexgen.alerting.rules import DEFAULT_RULES_FILE

__all__ = ["AlertingSettings", "alerting_settings"]


class AlertingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEXGEN_", extra="ignore", frozen=True)

    alert_rules_file: Path = DEFAULT_RULES_FILE
    alertmanager_config: Path = DEFAULT_MANAGER_FILE
    health_budget_ms: float = Field(100.0, gt=0, le=10_000)
    health_stall_after_s: float = Field(60.0, gt=0)
    dashboard_refresh_ms: int = Field(1000, ge=200, le=60_000)
    alert_instance: str | None = Field(None, max_length=200)


def alerting_settings(settings: Any | None = None) -> AlertingSettings:
    """Environment values, overridden by same-named fields of ``settings`` where present."""
    overrides = {name: getattr(settings, name) for name in AlertingSettings.model_fields
                 if settings is not None and getattr(settings, name, None) is not None}
    return AlertingSettings(**overrides)
