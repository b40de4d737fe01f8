"""onexgen's own alert-manager settings, kept out of the Alertmanager file.

Alertmanager rejects unknown fields, so what onexgen adds - escalation
policies, its tick and retry timings, the dedup window and the external URL -
lives here, in ``defaults/onexgen_alerting.yaml`` or the file named by
``ONEXGEN_ALERTING_EXTRAS``. The Alertmanager file stays one that
``amtool check-config`` accepts and a team's Alertmanager can load.
Durations are Prometheus durations, as in the Alertmanager file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from onexgen.alerting.config import Duration, ManagerConfig, describe_error
from onexgen.alerting.errors import ManagerConfigError
from onexgen.alerting.matchers import parse_matchers

__all__ = ["DEFAULT_EXTRAS_FILE", "EscalationPolicy", "Extras", "load_extras", "parse_extras"]

DEFAULT_EXTRAS_FILE = Path(str(resources.files("onexgen.alerting") / "defaults" /
                               "onexgen_alerting.yaml"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationPolicy(_Model):
    """An alert still firing ``after`` since it started is also sent to ``receiver``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    matchers: list[str] = Field(default_factory=list)
    after: Duration = Field(gt=0)
    receiver: str
    repeat_interval: Duration | None = None

    @model_validator(mode="after")
    def _matchers(self) -> EscalationPolicy:
        parse_matchers(self.matchers)
        return self


class Extras(_Model):
    dedup_window: Duration = 300.0
    external_url: str = "http://127.0.0.1:6066"
    silence_refresh: Duration = 5.0
    tick: Duration = Field(0.25, gt=0, le=60)
    retry_initial: Duration = Field(0.5, gt=0)
    retry_max: Duration = Field(60.0, gt=0)
    retry_attempts: int = Field(
        20, ge=1, description="transient failures of one notification before it is parked")
    escalations: list[EscalationPolicy] = Field(default_factory=list)

    def check_against(self, config: ManagerConfig, source: str) -> None:
        """Escalation receivers must exist in the Alertmanager file."""
        names = {r.name for r in config.receivers}
        for policy in self.escalations:
            if policy.receiver not in names:
                raise ManagerConfigError(
                    f"{source}: escalation {policy.name!r} names receiver {policy.receiver!r}, "
                    f"which the Alertmanager file does not define ({', '.join(sorted(names))})")


def parse_extras(text: str, *, source: str = "<extras>") -> Extras:
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ManagerConfigError(f"{source} is not valid YAML: {exc}") from exc
    try:
        return Extras.model_validate(data)
    except ValidationError as exc:
        raise ManagerConfigError(describe_error(exc, source)) from None


def load_extras(path: Path | None = None) -> Extras:
    path = path or DEFAULT_EXTRAS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManagerConfigError(f"cannot read onexgen alerting extras {path}: {exc.strerror}; "
                                 "set ONEXGEN_ALERTING_EXTRAS to an existing file") from exc
    return parse_extras(text, source=str(path))
