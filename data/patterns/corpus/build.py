"""Build the frozen splits of the independent pattern corpus from the raw annotations.

Run from the repository root: ``.venv/bin/python data/patterns/corpus/build.py``.

Inputs (``annotations/``): ``wN.jsonl`` (requests written and labelled by writer N,
annotator A), ``wN.by-LN.jsonl`` (the same requests labelled blind by labeller N,
annotator B) and ``adjudicated.jsonl`` (the final labels, with a written reason, of
every request on which A and B disagreed). Output: ``train.jsonl``, ``validation.jsonl``
and ``test.jsonl``, one valid ``GenerationRequest`` per line plus
``expected_patterns`` (adjudicated), ``annotations`` ({"A": [...], "B": [...]}),
``style`` and ``writer``; and ``SPLITS.sha256``.

Splits are by writer, so no split shares an author or a domain with another:
test = w3 + w6 (frozen before any detector change), validation = w5 (thresholds and
model choices), train = w1 + w2 + w4.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = {"train": ("w1", "w2", "w4"), "validation": ("w5",), "test": ("w3", "w6")}


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build() -> dict[str, list[dict[str, object]]]:
    from onexgen.models.wire import GenerationRequest

    adjudicated = {str(d["id"]): d for d in _lines(HERE / "annotations" / "adjudicated.jsonl")}
    out: dict[str, list[dict[str, object]]] = {}
    for split, writers in SPLITS.items():
        rows = []
        for writer in writers:
            labeller = f"L{writer[1:]}"
            blind = {str(d["id"]): d["labels"]
                     for d in _lines(HERE / "annotations" / f"{writer}.by-{labeller}.jsonl")}
            for d in _lines(HERE / "annotations" / f"{writer}.jsonl"):
                rid = str(d["id"])
                a, b = sorted(d["labels"]), sorted(blind[rid])  # type: ignore[call-overload]
                final = a if a == b else sorted(adjudicated[rid]["labels"])  # type: ignore[call-overload]
                request = {"request_id": rid, "node_type": d["node_type"], "name": d["name"],
                           "domain": d["domain"], "description": d["description"],
                           "operations": d["operations"]}
                GenerationRequest.model_validate(request)
                rows.append({**request, "expected_patterns": final,
                             "annotations": {"A": a, "B": b}, "style": d.get("style", ""),
                             "writer": writer})
        out[split] = rows
    return out


def main() -> int:
    digests = []
    for split, rows in build().items():
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        (HERE / f"{split}.jsonl").write_text(text)
        digests.append(f"{hashlib.sha256(text.encode()).hexdigest()}  {split}.jsonl\n")
        print(f"{split}: {len(rows)} requests", file=sys.stderr)
    (HERE / "SPLITS.sha256").write_text("".join(digests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
