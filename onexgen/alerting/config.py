"""The alert-manager's configuration, in Alertmanager's own file format.

A team's ``alertmanager.yml`` loads here unchanged as long as it uses what
onexgen supports, and ours (``defaults/alertmanager.yaml``) passes
``amtool check-config``. Supported: ``global`` (resolve_timeout, smtp_*,
slack_api_url(_file)), the ``route`` tree (receiver, group_by with ``...``,
group_wait / group_interval / repeat_interval as Prometheus durations,
``matchers`` and the legacy ``match`` / ``match_re``, ``continue``, ``routes``,
``mute_time_intervals`` / ``active_time_intervals``), ``inhibit_rules`` (new and
legacy forms), ``time_intervals`` (and the deprecated ``mute_time_intervals``),
and receivers with ``webhook_configs``, ``slack_configs`` and ``email_configs``.

Every field outside that set - a typo, or an Alertmanager feature onexgen does
not implement (``templates``, ``pagerduty_configs``, ``http_config.proxy_url``...)
- fails the load with its name and place: silently ignoring a setting would
page the wrong people. Defaults and checks follow Alertmanager's
``config/config.go`` (root route needs a receiver and no matchers, receivers
are unique and defined, e-mail needs a smarthost and from, Slack an API URL).
Secrets are inline or read from ``*_file`` paths at send time, as Alertmanager
does; onexgen's own extras (escalation, tick, retries) live in a separate file
(:mod:`onexgen.alerting.extras`).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from onexgen.alerting.durations import parse_duration
from onexgen.alerting.errors import ManagerConfigError
from onexgen.alerting.matchers import Matcher, parse_matchers
from onexgen.alerting.timeintervals import TimeInterval

__all__ = [
    "DEFAULT_MANAGER_FILE",
    "EmailConfig",
    "GlobalConfig",
    "HttpConfig",
    "InhibitRule",
    "ManagerConfig",
    "Receiver",
    "Route",
    "SlackConfig",
    "WebhookConfig",
    "load_manager_config",
    "parse_manager_config",
]

DEFAULT_MANAGER_FILE = Path(str(resources.files("onexgen.alerting") / "defaults" /
                                "alertmanager.yaml"))
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_HOSTPORT = re.compile(r"^\[?[^\s\[\]]*\]?:\d{1,5}$")

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in the file as a Prometheus duration string (``30s``)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+", value):
        raise ValueError("invalid URL: write it with a scheme and host, e.g. "
                         "http://127.0.0.1:9000/hook")
    return value


Url = Annotated[SecretStr, BeforeValidator(_url)]


class BasicAuth(_Model):
    username: str = ""
    password: SecretStr | None = None
    password_file: Path | None = None


class Authorization(_Model):
    type: str = "Bearer"
    credentials: SecretStr | None = None
    credentials_file: Path | None = None


class TlsConfig(_Model):
    ca_file: Path | None = None
    insecure_skip_verify: bool = False


class HttpConfig(_Model):
    """The basics of Prometheus' ``http_config``: auth, TLS verification, redirects."""

    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    tls_config: TlsConfig | None = None
    follow_redirects: bool = True


class GlobalConfig(_Model):
    resolve_timeout: Duration = 300.0
    smtp_from: str = ""
    smtp_hello: str = "localhost"
    smtp_smarthost: str = ""
    smtp_auth_username: str = ""
    smtp_auth_password: SecretStr | None = None
    smtp_auth_password_file: Path | None = None
    smtp_require_tls: bool = True
    slack_api_url: Url | None = None
    slack_api_url_file: Path | None = None
    http_config: HttpConfig | None = None

    @model_validator(mode="after")
    def _one_of(self) -> GlobalConfig:
        if self.smtp_auth_password is not None and self.smtp_auth_password_file is not None:
            raise ValueError("at most one of smtp_auth_password & smtp_auth_password_file "
                             "must be configured")
        if self.slack_api_url is not None and self.slack_api_url_file is not None:
            raise ValueError("at most one of slack_api_url & slack_api_url_file must be "
                             "configured")
        return self


class _Notifier(_Model):
    send_resolved: bool = False
    http_config: HttpConfig | None = None


class WebhookConfig(_Notifier):
    """POSTs the Alertmanager v4 webhook payload."""

    send_resolved: bool = True
    url: Url | None = None
    url_file: Path | None = None
    max_alerts: int = Field(0, ge=0)
    timeout: Duration = 0.0

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        if (self.url is None) == (self.url_file is None):
            raise ValueError("one of url or url_file must be configured")
        return self


def _literal(value: Any) -> Any:
    if isinstance(value, str) and "{{" in value:
        raise ValueError("Go templates are not supported by onexgen: write literal text, "
                         "or leave the field out for onexgen's default")
    return value


PlainText = Annotated[str, BeforeValidator(_literal)]


class SlackConfig(_Notifier):
    api_url: Url | None = None
    api_url_file: Path | None = None
    channel: str = ""
    username: str = ""
    title: PlainText = ""
    title_link: PlainText = ""
    text: PlainText = ""
    color: PlainText = ""

    @model_validator(mode="after")
    def _one_url(self) -> SlackConfig:
        if self.api_url is not None and self.api_url_file is not None:
            raise ValueError("at most one of api_url & api_url_file must be configured")
        return self


class EmailConfig(_Model):
    send_resolved: bool = False
    to: str = Field(min_length=1)
    from_: str = Field("", alias="from")
    hello: str = ""
    smarthost: str = ""
    auth_username: str = ""
    auth_password: SecretStr | None = None
    auth_password_file: Path | None = None
    require_tls: bool | None = None
    headers: dict[str, PlainText] = Field(default_factory=dict)

    @field_validator("smarthost")
    @classmethod
    def _hostport(cls, value: str) -> str:
        if value and not _HOSTPORT.match(value):
            raise ValueError(f"address {value!r}: write host:port, e.g. 127.0.0.1:25")
        return value


class Receiver(_Model):
    name: str = Field(min_length=1)
    webhook_configs: list[WebhookConfig] = Field(default_factory=list)
    slack_configs: list[SlackConfig] = Field(default_factory=list)
    email_configs: list[EmailConfig] = Field(default_factory=list)

    def integrations(self) -> int:
        return len(self.webhook_configs) + len(self.slack_configs) + len(self.email_configs)


def _label_name(name: str, where: str) -> str:
    if not _LABEL.match(name):
        raise ValueError(f"invalid label name {name!r} in {where}")
    return name


class Route(_Model):
    """A node of the routing tree; unset fields inherit from the parent (see routing.py)."""

    receiver: str | None = None
    group_by: list[str] | None = None
    matchers: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Route:
        for name in self.match:
            _label_name(name, "match")
        self.parsed_matchers()  # raises MatcherError (a ValueError) on a bad one
        if self.group_by is not None:
            names = [n for n in self.group_by if n != "..."]
            for name in names:
                _label_name(name, "group_by list")
            if names and "..." in self.group_by:
                raise ValueError("cannot have wildcard group_by (`...`) and other labels at "
                                 "the same time")
            if len(set(self.group_by)) != len(self.group_by):
                raise ValueError("duplicated label in group_by")
        if self.group_interval == 0:
            raise ValueError("group_interval cannot be zero")
        if self.repeat_interval == 0:
            raise ValueError("repeat_interval cannot be zero")
        return self

    def parsed_matchers(self) -> tuple[Matcher, ...]:
        """``match`` + ``match_re`` + ``matchers``, as Alertmanager merges them."""
        legacy = [Matcher(k, "=", v) for k, v in self.match.items()]
        legacy += [Matcher(k, "=~", v) for k, v in self.match_re.items()]
        return tuple(legacy) + parse_matchers(self.matchers)


class InhibitRule(_Model):
    """While a source alert fires, mute targets with the same values of ``equal``."""

    source_matchers: list[str] = Field(default_factory=list)
    target_matchers: list[str] = Field(default_factory=list)
    source_match: dict[str, str] = Field(default_factory=dict)
    source_match_re: dict[str, str] = Field(default_factory=dict)
    target_match: dict[str, str] = Field(default_factory=dict)
    target_match_re: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> InhibitRule:
        for name in [*self.source_match, *self.target_match, *self.equal]:
            _label_name(name, "inhibit rule")
        self.sources()
        self.targets()
        return self

    def sources(self) -> tuple[Matcher, ...]:
        return (tuple(Matcher(k, "=", v) for k, v in self.source_match.items())
                + tuple(Matcher(k, "=~", v) for k, v in self.source_match_re.items())
                + parse_matchers(self.source_matchers))

    def targets(self) -> tuple[Matcher, ...]:
        return (tuple(Matcher(k, "=", v) for k, v in self.target_match.items())
                + tuple(Matcher(k, "=~", v) for k, v in self.target_match_re.items())
                + parse_matchers(self.target_matchers))


class ManagerConfig(_Model):
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    route: Route
    receivers: list[Receiver] = Field(default_factory=list)
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(default_factory=list)
    mute_time_intervals: list[TimeInterval] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> ManagerConfig:
        names: set[str] = set()
        for receiver in self.receivers:
            if receiver.name in names:
                raise ValueError(f"notification config name {receiver.name!r} is not unique")
            names.add(receiver.name)
            g = self.global_
            for email in receiver.email_configs:
                if not (email.smarthost or g.smtp_smarthost):
                    raise ValueError(f"receiver {receiver.name!r}: no global SMTP smarthost "
                                     "set; add smarthost or global.smtp_smarthost")
                if not (email.from_ or g.smtp_from):
                    raise ValueError(f"receiver {receiver.name!r}: no global SMTP from set; "
                                     "add from or global.smtp_from")
            for slack in receiver.slack_configs:
                if slack.api_url is None and slack.api_url_file is None and (
                        g.slack_api_url is None and g.slack_api_url_file is None):
                    raise ValueError(f"receiver {receiver.name!r}: no Slack API URL set "
                                     "either inline or in a file (api_url, api_url_file or "
                                     "global.slack_api_url)")
        root = self.route
        if not root.receiver:
            raise ValueError("root route must specify a default receiver")
        if root.matchers or root.match or root.match_re:
            raise ValueError("root route must not have any matchers")
        if root.mute_time_intervals:
            raise ValueError("root route must not have any mute time intervals")
        if root.active_time_intervals:
            raise ValueError("root route must not have any active time intervals")
        if root.continue_:
            raise ValueError("cannot have continue in root route")
        intervals: set[str] = set()
        for interval in [*self.mute_time_intervals, *self.time_intervals]:
            if interval.name in intervals:
                raise ValueError(f"time interval {interval.name!r} is not unique")
            intervals.add(interval.name)
        _check_route(root, names, intervals)
        return self

    def intervals(self) -> dict[str, TimeInterval]:
        return {i.name: i for i in [*self.mute_time_intervals, *self.time_intervals]}

    def receiver(self, name: str) -> Receiver:
        return next(r for r in self.receivers if r.name == name)


def _check_route(route: Route, receivers: set[str], intervals: set[str]) -> None:
    for child in route.routes:
        _check_route(child, receivers, intervals)
    if route.receiver and route.receiver not in receivers:
        raise ValueError(f"undefined receiver {route.receiver!r} used in route")
    for name in [*route.active_time_intervals, *route.mute_time_intervals]:
        if name not in intervals:
            raise ValueError(f"undefined time interval {name!r} used in route")


def describe_error(exc: ValidationError, source: str) -> str:
    """The first validation error as ``FILE: place: what; fix``, never echoing values."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        field = first["loc"][-1]
        place = ".".join(str(p) for p in first["loc"][:-1]) or "the top level"
        return (f"{source}: field {field!r} at {place} is not supported by onexgen; remove it "
                "(or, for Alertmanager features onexgen lacks, hand alerts to your "
                "Alertmanager with ONEXGEN_ALERTMANAGER_URL)")
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{source}: {where}: {message}; fix the file"


def parse_manager_config(text: str, *, source: str = "<alertmanager>") -> ManagerConfig:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManagerConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ManagerConfigError(f"{source}: expected a mapping with route and receivers")
    try:
        return ManagerConfig.model_validate(data)
    except ValidationError as exc:
        raise ManagerConfigError(describe_error(exc, source)) from None


def load_manager_config(path: Path | None = None) -> ManagerConfig:
    path = path or DEFAULT_MANAGER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManagerConfigError(f"cannot read alert-manager config {path}: {exc.strerror}; "
                                 "set ONEXGEN_ALERTMANAGER_CONFIG to an existing file") from exc
    return parse_manager_config(text, source=str(path))

