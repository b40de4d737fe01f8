"""Build ``train.jsonl`` and ``test.jsonl`` from the hand-written ``requests.txt``.

Why a source file plus a script: the requests were written by hand in a compact
pipe-separated form (easier to review than JSON), and the split must be
reproducible. Each line becomes a validated ``GenerationRequest`` plus
``expected_patterns``; the split is stratified by the first expected pattern
(``none`` for requests without one) with a fixed seed: within each stratum,
after a seeded shuffle, positions 1 and 3 of every 5 go to test (40 %).

Run from the repository root: ``.venv/bin/python data/patterns/build.py``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from onexgen.models.wire import GenerationRequest  # noqa: E402 (needs the path set above)

HERE = Path(__file__).resolve().parent
NODE_TYPES = {"E": "effect", "C": "compute", "R": "reducer", "O": "orchestrator"}
SEED = 20240507
TEST_POSITIONS = {1, 3}


def parse_line(number: int, line: str) -> dict[str, object]:
    """One source line -> a request dict with ``expected_patterns``."""
    kind, name, domain, labels, description, ops = (p.strip() for p in line.split("|"))
    operations = []
    for chunk in filter(None, (c.strip() for c in ops.split(" ; "))):
        op_name, _, op_desc = chunk.partition(":")
        operations.append({"name": op_name.strip(), "description": op_desc.strip()})
    request = GenerationRequest.model_validate({
        "request_id": f"pat-{number:04d}", "node_type": NODE_TYPES[kind], "name": name,
        "domain": domain, "description": description, "operations": operations,
    })
    data = request.model_dump(mode="json", exclude={"schema_version", "mixins", "version"})
    data["expected_patterns"] = [] if labels == "-" else labels.split(",")
    return data


def main() -> None:
    rows: list[dict[str, object]] = []
    for line in (HERE / "requests.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(parse_line(len(rows) + 1, line))
    strata: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        labels = row["expected_patterns"]
        assert isinstance(labels, list)
        strata.setdefault(labels[0] if labels else "none", []).append(row)
    rng = random.Random(SEED)
    train: list[dict[str, object]] = []
    test: list[dict[str, object]] = []
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        for i, row in enumerate(group):
            (test if i % 5 in TEST_POSITIONS else train).append(row)
    for name, part in (("train", train), ("test", test)):
        part.sort(key=lambda r: str(r["request_id"]))
        target = ROOT / "onexgen/learning/patterns/data" if name == "train" else HERE
        with (target / f"{name}.jsonl").open("w") as out:
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
    print(f"{len(rows)} requests: {len(train)} train, {len(test)} test")


if __name__ == "__main__":
    main()
