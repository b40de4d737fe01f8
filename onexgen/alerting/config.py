"""The alert-manager's configuration: receivers, routing tree, inhibition, maintenance, escalation.

Read from ``config/alertmanager.yaml`` (or ``ONEXGEN_ALERTMANAGER_CONFIG``),
shaped after Prometheus' Alertmanager so operators recognise it. Secrets
(webhook and Slack URLs, the SMTP password) are written as ``${VAR}`` or
``${VAR:-default}`` and expanded from the environment at load time into
``SecretStr`` fields: printing or logging the configuration never shows
them, and the file can be committed. A ``${VAR}`` without default that is
not set fails the load with the variable's name; a receiver whose URL
expands to empty is *disabled* (logged once, its notifications dropped and
counted), so one config serves machines with and without Slack.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from onexgen.alerting.errors import ManagerConfigError
from onexgen.alerting.matchers import Matcher, parse_matchers

__all__ = [
    "DEFAULT_MANAGER_FILE",
    "EmailReceiver",
    "EscalationPolicy",
    "InhibitRule",
    "LogReceiver",
    "MaintenanceWindow",
    "ManagerConfig",
    "ReceiverConfig",
    "Route",
    "SlackReceiver",
    "WebhookReceiver",
    "expand_env",
    "load_manager_config",
    "parse_manager_config",
]

DEFAULT_MANAGER_FILE = Path(str(resources.files("onexgen.alerting") / "defaults" /
                            "alertmanager.yaml"))
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Receiver(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @field_validator("url", mode="before", check_fields=False)
    @classmethod
    def _empty_url(cls, value: Any) -> Any:
        """``url: ${VAR:-}`` loads as null: read it as "" (= receiver disabled)."""
        return "" if value is None else value
    enabled: bool = True
    send_resolved: bool = True
    timeout_s: float = Field(10.0, gt=0, le=120)


class LogReceiver(_Receiver):
    type: Literal["log"] = "log"


class WebhookReceiver(_Receiver):
    """POSTs the Alertmanager v4 webhook payload (what Prometheus' webhook_config sends)."""

    type: Literal["webhook"] = "webhook"
    url: SecretStr
    max_alerts: int = Field(0, ge=0, description="0 = all alerts of the group")


class SlackReceiver(_Receiver):
    """POSTs an incoming-webhook message; the URL is the secret."""

    type: Literal["slack"] = "slack"
    url: SecretStr
    channel: str | None = None
    username: str = "onexgen"


class EmailReceiver(_Receiver):
    type: Literal["email"] = "email"
    to: list[str] = Field(min_length=1)
    sender: str = Field(alias="from")
    smarthost: str = Field(pattern=r"^[^:\s]+:\d{1,5}$", description="host:port")
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    use_tls: bool = False


ReceiverConfig = Annotated[LogReceiver | WebhookReceiver | SlackReceiver | EmailReceiver,
                           Field(discriminator="type")]


class Route(_Model):
    """A node of the routing tree; unset timing fields inherit from the parent."""

    receiver: str | None = None
    matchers: list[str] = Field(default_factory=list)
    group_by: list[str] | None = None
    group_wait_s: float | None = Field(None, ge=0)
    group_interval_s: float | None = Field(None, gt=0)
    repeat_interval_s: float | None = Field(None, gt=0)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _parse(self) -> Route:
        parse_matchers(self.matchers)  # raises MatcherError (a ValueError) on a bad one
        return self

    def parsed_matchers(self) -> tuple[Matcher, ...]:
        return parse_matchers(self.matchers)


class InhibitRule(_Model):
    """While an alert matching ``source_matchers`` fires, mute alerts matching
    ``target_matchers`` that have the same values for every label in ``equal``."""

    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class MaintenanceWindow(_Model):
    """Mute matching alerts between ``starts_at`` and ``ends_at``, or weekly on ``days``
    between ``start`` and ``end`` (UTC wall clock; an ``end`` before ``start`` spans midnight)."""

    name: str
    matchers: list[str] = Field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=list)
    start: time | None = None
    end: time | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> MaintenanceWindow:
        absolute = self.starts_at is not None and self.ends_at is not None
        weekly = self.start is not None and self.end is not None
        if absolute == weekly:
            raise ValueError(f"maintenance window {self.name!r}: give either starts_at+ends_at "
                             "or start+end (with optional days), not both or neither")
        parse_matchers(self.matchers)
        return self


class EscalationPolicy(_Model):
    """An alert still firing ``after_s`` after it started is also sent to ``receiver``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    matchers: list[str] = Field(default_factory=list)
    after_s: float = Field(gt=0)
    receiver: str
    repeat_interval_s: float | None = Field(None, gt=0)


class ManagerConfig(_Model):
    dedup_window_s: float = Field(300.0, ge=0)
    resolve_timeout_s: float = Field(
        300.0, gt=0, description="a firing alert not re-sent for this long is taken as resolved")
    external_url: str = ""
    silence_refresh_s: float = Field(5.0, gt=0)
    tick_s: float = Field(0.25, gt=0, le=60)
    retry_initial_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(60.0, gt=0)
    receivers: list[ReceiverConfig] = Field(min_length=1)
    route: Route
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    escalations: list[EscalationPolicy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ManagerConfig:
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError("receiver names must be unique")
        if self.route.receiver is None:
            raise ValueError("the top-level route needs a receiver (the default)")
        for receiver in _route_receivers(self.route) + [e.receiver for e in self.escalations]:
            if receiver not in names:
                raise ValueError(f"receiver {receiver!r} is used but not defined; add it to "
                                 f"receivers ({', '.join(names)})")
        for rule in self.inhibit_rules:
            parse_matchers(rule.source_matchers + rule.target_matchers)
        return self


def _route_receivers(route: Route) -> list[str]:
    found = [route.receiver] if route.receiver else []
    for child in route.routes:
        found += _route_receivers(child)
    return found


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; an unset ``${VAR}`` is an error naming it."""
    env = os.environ if environ is None else environ

    def sub(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ManagerConfigError(f"alert-manager config uses ${{{name}}} but {name} is not set; "
                                 f"export it or write ${{{name}:-}} to make it optional")

    # comment lines are left alone: they may show the ${VAR} syntax itself
    return "".join(line if line.lstrip().startswith("#") else _VAR.sub(sub, line)
                   for line in text.splitlines(keepends=True))


def parse_manager_config(text: str, *, source: str = "<alertmanager>",
                         environ: dict[str, str] | None = None) -> ManagerConfig:
    try:
        data: Any = yaml.safe_load(expand_env(text, environ))
    except yaml.YAMLError as exc:
        raise ManagerConfigError(f"{source} is not valid YAML: {exc}") from exc
    try:
        return ManagerConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        # input values are not echoed: they may be expanded secrets
        raise ManagerConfigError(f"{source}: {where}: {first['msg']}; fix the file") from None


def load_manager_config(path: Path | None = None,
                        environ: dict[str, str] | None = None) -> ManagerConfig:
    path = path or DEFAULT_MANAGER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManagerConfigError(f"cannot read alert-manager config {path}: {exc.strerror}; "
                                 "set ONEXGEN_ALERTMANAGER_CONFIG to an existing file") from exc
    return parse_manager_config(text, source=str(path), environ=environ)
