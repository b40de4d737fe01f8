"""Fenced code blocks of the Markdown docs, with the ``doctest`` marker that precedes each.

A block is marked by an HTML comment on the line before its fence:
``<!-- doctest: run -->`` (the docs test executes it) or
``<!-- doctest: skip (reason) -->``. Every ``sh`` block that names ``onexgen`` or
``kcat`` and every ``python`` block must carry one, so a new command cannot slip
into the docs untested without saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARKER = re.compile(r"<!--\s*doctest:\s*(run|skip)\b(.*?)-->")
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str
    marker: str | None  # "run", "skip" or None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def needs_marker(self) -> bool:
        if self.lang == "python":
            return True
        return self.lang == "sh" and bool(re.search(r"\b(onexgen|kcat)\b", self.code))


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start, lang = i, fence.group(1)
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        marker = _MARKER.search(lines[start - 1]) if start > 0 else None
        out.append(Block(path, start + 1, lang, "\n".join(body) + "\n",
                         marker.group(1) if marker else None,
                         marker.group(2).strip() if marker else ""))
        i += 1
    return out


def all_blocks() -> list[Block]:
    return [b for path in DOC_FILES for b in blocks(path)]
