"""Alert rules as configuration: a YAML file validated with pydantic.

A rule says: when ``metric`` (a live value the monitor keeps, see
:mod:`observability.monitor`) compares to ``threshold`` by ``comparison`` for
``for`` seconds without interruption, fire an alert of ``severity``. The
default file, ``onexgen/alerting/defaults/alert_rules.yaml``, holds the 21 rules of the original
system with thresholds adjusted to this deployment (each change explained in
a comment there); ``ONEXGEN_ALERT_RULES_FILE`` points at another file.

Everything is checked at load time - unknown keys, duplicate names, a
comparison that is not one of the six operators - because a typo found by the
loader costs a restart while a typo found by an outage costs much more.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from onexgen.alerting.errors import RuleConfigError

__all__ = [
    "COMPARATORS",
    "DEFAULT_RULES_FILE",
    "AlertRule",
    "Comparison",
    "RuleSet",
    "load_rules",
    "parse_rules",
]

Comparison = Literal[">", "<", ">=", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}

DEFAULT_RULES_FILE = Path(str(resources.files("onexgen.alerting") / "defaults"
                              / "alert_rules.yaml"))
"""The 21 shipped rules, package data of ``onexgen.alerting``."""

_LABEL = r"^[A-Za-z_][A-Za-z0-9_]*$"


class AlertRule(BaseModel):
    """One rule; ``for`` is spelled ``for`` in YAML (``for_s`` in Python, a keyword clash)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    metric: str = Field(pattern=r"^[a-z][a-z0-9_]{0,99}$")
    threshold: float
    comparison: Comparison
    severity: Severity
    for_s: float = Field(alias="for", ge=0, le=86_400)
    summary: str = Field("", max_length=500)
    description: str = Field("", max_length=2_000)
    labels: dict[str, str] = Field(default_factory=dict)
    expr: str | None = Field(
        None, description="the figure in PromQL (rule's unit) for the exported rules file; "
                          "default: the figure's own gauge (alerting/families.py)")

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.match(_LABEL, key) or key in ("alertname", "severity", "metric"):
                raise ValueError(f"label {key!r}: use a Prometheus label name other than "
                                 "alertname/severity/metric (those are set from the rule)")
        return value

    def breached(self, value: float) -> bool:
        return COMPARATORS[self.comparison](value, self.threshold)

    def alert_labels(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The labels an alert of this rule carries (and is fingerprinted by)."""
        labels = {**(extra or {}), **self.labels}
        labels.update(alertname=self.name, severity=self.severity, metric=self.metric)
        return labels

    def text(self) -> str:
        """``summary`` or a generated one: what a person reads in the notification."""
        return self.summary or (f"{self.metric} {self.comparison} {self.threshold:g} "
                                f"for {self.for_s:g}s")


class RuleSet(BaseModel):
    """The rules file: how often to evaluate, which labels every alert gets, the rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_interval_s: float = Field(5.0, gt=0, le=3_600)
    resend_interval_s: float = Field(
        60.0, gt=0, le=86_400,
        description="a firing alert is published again this often, so a restarted "
                    "alert-manager learns about it (it deduplicates by fingerprint)")
    labels: dict[str, str] = Field(default_factory=dict)
    rules: list[AlertRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} appears twice; names must be unique")
            seen.add(rule.name)
        return self

    def metrics(self) -> set[str]:
        return {r.metric for r in self.rules}


def parse_rules(data: Any, *, source: str = "<rules>") -> RuleSet:
    """Validate already-loaded YAML/JSON data; errors name the source and the field."""
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleConfigError(f"{source}: {where}: {first['msg']} "
                              f"({exc.error_count()} error(s)); fix the rules file") from exc


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and validate the rules file (default: the shipped one)."""
    path = path or DEFAULT_RULES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleConfigError(f"cannot read alert rules {path}: {exc.strerror}; "
                              "set ONEXGEN_ALERT_RULES_FILE to an existing file") from exc
    except yaml.YAMLError as exc:
        raise RuleConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_rules(data, source=str(path))
