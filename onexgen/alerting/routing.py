"""The routing tree: which receivers an alert goes to, and with which grouping and timing.

Semantics follow Prometheus' Alertmanager so that an operator's intuition
carries over:

* an alert enters at the root (which matches everything) and descends into the
  first child whose matchers all match; it stops at the first matching child
  unless that child sets ``continue: true``, in which case later siblings are
  tried too;
* a node where no child matched is itself a match;
* ``receiver``, ``group_by`` and the three intervals are inherited from the
  parent when a child leaves them unset.

``group_by: ['...']`` groups by every label (one group per alert).
The tree is resolved once at load (:func:`build_tree`); matching is then a
walk over plain frozen objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from onexgen.alerting.config import Route
from onexgen.alerting.matchers import Matcher, matches_all

__all__ = ["DEFAULT_TIMING", "RouteNode", "build_tree", "group_labels", "match_routes"]

DEFAULT_TIMING = {"group_wait_s": 30.0, "group_interval_s": 300.0, "repeat_interval_s": 14_400.0}
"""Alertmanager's defaults: 30 s, 5 min, 4 h."""
DEFAULT_GROUP_BY = ("alertname",)


@dataclass(frozen=True, slots=True)
class RouteNode:
    """One resolved node: its path (``0.1.0``) names it in group keys and logs."""

    path: str
    receiver: str
    matchers: tuple[Matcher, ...]
    group_by: tuple[str, ...]
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float
    continue_: bool
    children: tuple[RouteNode, ...]


def build_tree(route: Route, parent: RouteNode | None = None, path: str = "0") -> RouteNode:
    """Resolve inheritance top-down; the root's unset values take Alertmanager's defaults."""
    receiver = route.receiver or (parent.receiver if parent else "")

    def pick(name: str) -> float:
        own = getattr(route, name)
        if own is not None:
            return float(own)
        return float(getattr(parent, name)) if parent else DEFAULT_TIMING[name]

    if route.group_by is not None:
        group_by = tuple(route.group_by)
    else:
        group_by = parent.group_by if parent else DEFAULT_GROUP_BY
    node = RouteNode(path, receiver, route.parsed_matchers(), group_by, pick("group_wait_s"),
                     pick("group_interval_s"), pick("repeat_interval_s"), route.continue_, ())
    children = tuple(build_tree(child, node, f"{path}.{i}") for i, child in
                     enumerate(route.routes))
    return RouteNode(node.path, node.receiver, node.matchers, node.group_by, node.group_wait_s,
                     node.group_interval_s, node.repeat_interval_s, node.continue_, children)


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
    """The labels that name the alert's group under ``node`` (``...`` = all labels)."""
    if "..." in node.group_by:
        return dict(labels)
    return {name: labels.get(name, "") for name in node.group_by}
