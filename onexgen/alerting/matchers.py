"""Label matchers (``k=v``, ``k!=v``, ``k=~re``, ``k!~re``) and stable alert fingerprints.

Routes, inhibition rules, silences and escalation policies all select alerts
by their labels with the same four operators Prometheus' Alertmanager uses, so
an operator writes them the same way everywhere, parsed as Alertmanager's
classic parser does (``pkg/labels/parse.go``): values may be double-quoted with
``\\"``, ``\\n`` and ``\\\\`` escapes, one string may hold several matchers separated
by commas outside quotes (``{a="1", b=~"x|y"}``), and regular expressions are
anchored (``rule=~cache.*`` does not match ``xcache``).

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

__all__ = ["Matcher", "fingerprint", "matches_all", "parse_matcher", "parse_matchers",
           "split_matchers"]

# Alertmanager's pkg/labels/parse.go: name, operator, then the rest (quotes optional)
_FORM = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
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
            try:  # anchored at both ends, as Alertmanager compiles it: ^(?:value)$
                object.__setattr__(self, "regex", re.compile(rf"^(?:{self.value})$", re.DOTALL))
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
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(raw: str, original: str) -> str:
    """OpenMetrics unescaping of a matcher value, tolerant exactly where Alertmanager is."""
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
            continue
        if char == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            out.append(char)
        elif char == '"':
            if not quoted or i < len(raw) - 1:
                raise MatcherError(f"matcher {original!r}: value contains an unescaped double "
                                   'quote; write \\" inside a quoted value')
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise MatcherError(f"matcher {original!r}: value contains an unescaped double quote "
                           "(no closing quote)")
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """``'severity="critical"'`` -> Matcher, parsed as Alertmanager's classic parser does."""
    found = _FORM.match(text)
    if found is None:
        raise MatcherError(
            f"matcher {text!r} does not parse: write name=value, name!=value, name=~regex "
            'or name!~regex (e.g. severity="critical")'
        )
    name, op, raw = found.groups()
    return Matcher(name, op, _unquote(raw, text))


def split_matchers(text: str) -> list[str]:
    """``'{a="x,y", b=~"z"}'`` -> the two matcher strings (commas inside quotes kept)."""
    text = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for char in text:
        if char == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return tokens


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """Each entry may hold several comma-separated matchers, as in Alertmanager's config."""
    return tuple(parse_matcher(t) for text in texts for t in split_matchers(text))


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
