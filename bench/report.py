"""One way to report a benchmark: a plain table on stdout and a JSON file.

Every benchmark module exposes a ``run(...)`` returning a :class:`Report`;
``python -m bench`` (``make bench``) runs them all against the real services.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path("bench/results")


@dataclass(slots=True)
class Row:
    """One measured figure; ``goal`` is the target it is compared with, when there is one."""

    name: str
    value: float
    unit: str
    goal: str = ""
    met: bool | None = None
    note: str = ""


@dataclass(slots=True)
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, *, goal: str = "",
            met: bool | None = None, note: str = "") -> None:
        self.rows.append(Row(name, value, unit, goal, met, note))

    def add_paired(self, what: str, series: dict[str, list[float]], base: str, unit: str,
                   *, note: str) -> None:
        """A row per series (``"<what>, <name>"``): the median of its rounds, and for each
        but ``base`` in how many rounds it was lower than ``base``'s same round."""
        reference = series[base]
        rounds = len(reference)
        for name, values in series.items():
            lower = sum(a < b for a, b in zip(values, reference, strict=True))
            self.add(f"{what}, {name}", statistics.median(values), unit,
                     note=f"{note}, median of {rounds} rounds"
                     + ("" if name == base else f"; lower in {lower} of {rounds}"))

    def render(self) -> str:
        head = ("figure", "value", "unit", "goal", "met", "note")
        body = [
            (r.name, _fmt(r.value), r.unit, r.goal,
             "" if r.met is None else ("yes" if r.met else "NO"), r.note)
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]

        def line(cells: tuple[str, ...] | list[str]) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))

        out = [f"== {self.title} ==", line(head), line(["-" * w for w in widths])]
        out += [line(b) for b in body]
        if self.params:
            out.append("params: " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        return "\n".join(out)

    def write_json(self, slug: str, directory: Path = RESULTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{slug}.json"
        data = {
            "title": self.title,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "params": self.params,
            "rows": [
                {"name": r.name, "value": r.value, "unit": r.unit, "goal": r.goal,
                 "met": r.met, "note": r.note}
                for r in self.rows
            ],
        }
        path.write_text(json.dumps(data, indent=2) + "\n")
        return path


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"


def _cpus() -> int:
    import os

    return os.cpu_count() or 1
