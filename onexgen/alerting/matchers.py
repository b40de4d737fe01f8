"""Label matchers (``k=v``, ``k!=v``, ``k=~re``, ``k!~re``) and stable alert fingerprints.

Routes, inhibition rules, silences and maintenance windows all select alerts
by their labels with the same four operators Prometheus' Alertmanager uses, so
an operator writes them the same way everywhere. Regular expressions are
anchored (a matcher ``rule=~cache.*`` does not match ``xcache``), as in
Alertmanager.

The fingerprint is what keys an alert on ``<prefix>.alerts`` and what the
alert-manager deduplicates by: a SHA-256 over the sorted label pairs, so the
same labels give the same fingerprint in every process and on every run
(Python's ``hash()`` is salted per process and would not).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from onexgen.alerting.errors import MatcherError

__all__ = ["Matcher", "fingerprint", "matches_all", "parse_matcher", "parse_matchers"]

_FORM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One ``name op value`` test on an alert's labels; a missing label reads as ``""``."""

    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise MatcherError(f"matcher operator {self.op!r}: use one of {', '.join(_OPS)}")
        if self.op in ("=~", "!~"):
            try:
                object.__setattr__(self, "regex", re.compile(rf"^(?:{self.value})$"))
            except re.error as exc:
                raise MatcherError(f"matcher {self}: bad regular expression ({exc})") from exc

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.regex is not None  # set in __post_init__ for both regex operators
        found = self.regex.match(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """``'severity=critical'`` -> Matcher; quotes around the value are dropped."""
    found = _FORM.match(text)
    if found is None:
        raise MatcherError(
            f"matcher {text!r} does not parse: write name=value, name!=value, name=~regex "
            "or name!~regex (e.g. severity=critical)"
        )
    name, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return Matcher(name, op, value)


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(t) for t in texts)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits of SHA-256 over the sorted ``name\\0value\\0`` pairs.

    NUL cannot occur in a YAML-loaded label, so two different label sets never
    serialise to the same bytes.
    """
    digest = hashlib.sha256()
    for name in sorted(labels):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(labels[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
