"""The routing tree: which receivers an alert goes to, and with which grouping and timing.

The decisions are Alertmanager's (``dispatch/route.go``), so ``onexgen alerts
routes test`` answers as ``amtool config routes test`` does:

* an alert enters at the root and descends depth-first into the children
  whose matchers all match; it stops at the first matching child unless that
  child sets ``continue: true``;
* a node where no child matched is itself a match;
* ``receiver``, ``group_by`` (``...`` = every label) and the three timers are
  inherited from the parent when a child leaves them unset; the root's unset
  values are Alertmanager's defaults (no grouping labels, 30 s, 5 m, 4 h);
  mute / active time intervals are not inherited;
* a node's key (``{}/{severity="critical"}``) is its ancestors' keys and its
  sorted matchers, and a group's key is ``<route key>:<group labels>``, the
  ``groupKey`` Alertmanager puts in webhook payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from onexgen.alerting.config import Route
from onexgen.alerting.matchers import Matcher, matches_all

__all__ = ["DEFAULT_TIMING", "RouteNode", "build_tree", "group_key", "group_labels",
           "match_routes"]

DEFAULT_TIMING = {"group_wait": 30.0, "group_interval": 300.0, "repeat_interval": 14_400.0}
"""Alertmanager's defaults: 30 s, 5 min, 4 h."""
_OPS = {"=": 0, "!=": 1, "=~": 2, "!~": 3}


@dataclass(frozen=True, slots=True)
class RouteNode:
    """One resolved node; ``key`` names it as Alertmanager does (route keys in group keys),
    ``path`` (``0.1.0``) uniquely, also when two siblings have the same matchers."""

    path: str
    key: str
    receiver: str
    matchers: tuple[Matcher, ...]
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float
    continue_: bool
    mute_time_intervals: tuple[str, ...]
    active_time_intervals: tuple[str, ...]
    children: tuple[RouteNode, ...]


def _matchers_key(matchers: tuple[Matcher, ...]) -> str:
    ordered = sorted(matchers, key=lambda m: (m.name, m.value, _OPS[m.op]))
    return "{" + ",".join(str(m) for m in ordered) + "}"


def build_tree(route: Route, parent: RouteNode | None = None, path: str = "0") -> RouteNode:
    """Resolve inheritance top-down, as Alertmanager's ``newRoute`` does."""
    receiver = route.receiver or (parent.receiver if parent else "")

    def pick(name: str) -> float:
        own = getattr(route, name)
        if own is not None:
            return float(own)
        return float(getattr(parent, f"{name}_s")) if parent else DEFAULT_TIMING[name]

    group_by = parent.group_by if parent else ()
    group_by_all = parent.group_by_all if parent else False
    if route.group_by is not None:
        named = tuple(n for n in route.group_by if n != "...")
        if named or not route.group_by:  # a list of labels (or []) replaces the parent's
            group_by, group_by_all = named, False
        else:
            group_by_all = True
    matchers = route.parsed_matchers()
    key = (parent.key + "/" if parent else "") + _matchers_key(matchers)
    node = RouteNode(path, key, receiver, matchers, group_by, group_by_all, pick("group_wait"),
                     pick("group_interval"), pick("repeat_interval"), route.continue_,
                     tuple(route.mute_time_intervals), tuple(route.active_time_intervals), ())
    children = tuple(build_tree(child, node, f"{path}.{i}") for i, child in
                     enumerate(route.routes))
    return RouteNode(node.path, node.key, node.receiver, node.matchers, node.group_by,
                     node.group_by_all, node.group_wait_s, node.group_interval_s,
                     node.repeat_interval_s, node.continue_, node.mute_time_intervals,
                     node.active_time_intervals, children)


def match_routes(node: RouteNode, labels: Mapping[str, str]) -> list[RouteNode]:
    """Every node the alert is delivered through (empty only if the root does not match)."""
    if not matches_all(node.matchers, labels):
        return []
    found: list[RouteNode] = []
    for child in node.children:
        matched = match_routes(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or [node]


def group_labels(node: RouteNode, labels: Mapping[str, str]) -> dict[str, str]:
    """The alert's labels that name its group under ``node``; absent labels are left out."""
    if node.group_by_all:
        return dict(labels)
    return {name: labels[name] for name in node.group_by if name in labels}


def group_key(node: RouteNode, labels: Mapping[str, str]) -> str:
    """``{}/{severity="critical"}:{alertname="x"}``, Alertmanager's aggregation-group key."""
    pairs = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{node.key}:{{{pairs}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
