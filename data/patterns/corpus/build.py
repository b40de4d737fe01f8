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
model choices), train = w1 + w2 + w4, plus each later writer (``LATE_TRAIN_WRITERS``:
w7-w10, w15-w19) whose two annotation files exist; unseen = w11-w14 (``UNSEEN_WRITERS``), a
second held-out split labelled after the shipped model was trained. Only the train
split may grow: the build refuses to write when the validation, test or unseen split
would differ from its recorded digest (``SPLITS.sha256``), and it copies train and
validation into the package (``onexgen/learning/patterns/data/corpus_*.jsonl``) so the
shipped default model can be retrained from the wheel: ``onexgen patterns train --out
onexgen/learning/patterns/data/default_model.npz``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANNOTATIONS = HERE / "annotations"
PACKAGE_DATA = HERE.parents[2] / "onexgen" / "learning" / "patterns" / "data"
LATE_TRAIN_WRITERS = ("w7", "w8", "w9", "w10", "w15", "w16", "w17", "w18", "w19")
"""Writers labelled after the freeze: train only, and only once both files have landed
(w15-w19, session 17: half their requests describe a pattern without its usual words)."""
UNSEEN_WRITERS = ("w11", "w12", "w13", "w14")
"""Writers labelled after the shipped model was trained (session 13): a second held-out
split, ``unseen``, measured once and never trained or tuned on, like the test split."""
FROZEN = ("validation", "test", "unseen")


def _has_annotations(writer: str, annotations: Path) -> bool:
    return ((annotations / f"{writer}.jsonl").is_file()
            and (annotations / f"{writer}.by-L{writer[1:]}.jsonl").is_file())


def splits(annotations: Path = ANNOTATIONS) -> dict[str, tuple[str, ...]]:
    """Each split's writers: the frozen ones, and train grown by the late writers present."""
    late = tuple(w for w in LATE_TRAIN_WRITERS if _has_annotations(w, annotations))
    unseen = tuple(w for w in UNSEEN_WRITERS if _has_annotations(w, annotations))
    return {"train": ("w1", "w2", "w4", *late), "validation": ("w5",), "test": ("w3", "w6"),
            **({"unseen": unseen} if unseen else {})}


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build(annotations: Path = ANNOTATIONS) -> dict[str, list[dict[str, object]]]:
    from onexgen.models.wire import GenerationRequest

    adjudicated = {str(d["id"]): d for d in _lines(annotations / "adjudicated.jsonl")}
    out: dict[str, list[dict[str, object]]] = {}
    for split, writers in splits(annotations).items():
        rows = []
        for writer in writers:
            labeller = f"L{writer[1:]}"
            blind = {str(d["id"]): d["labels"]
                     for d in _lines(annotations / f"{writer}.by-{labeller}.jsonl")}
            for d in _lines(annotations / f"{writer}.jsonl"):
                rid = str(d["id"])
                if rid not in blind:
                    raise SystemExit(f"{rid} has no blind label in {writer}.by-{labeller}.jsonl;"
                                     " label it before building")
                a, b = sorted(d["labels"]), sorted(blind[rid])  # type: ignore[call-overload]
                if a != b and rid not in adjudicated:
                    raise SystemExit(f"{rid}: annotators disagree ({a} vs {b}) and "
                                     "adjudicated.jsonl has no entry; adjudicate it first")
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


def _recorded_digests() -> dict[str, str]:
    path = HERE / "SPLITS.sha256"
    lines = path.read_text().splitlines() if path.is_file() else []
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def main() -> int:
    texts = {split: "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                            for r in rows)
             for split, rows in build().items()}
    digests = {split: hashlib.sha256(text.encode()).hexdigest() for split, text in texts.items()}
    recorded = _recorded_digests()
    for split in FROZEN:
        known = recorded.get(f"{split}.jsonl")
        if split in digests and known is not None and known != digests[split]:
            print(f"refusing to write: the frozen {split} split would change (its writers' "
                  "annotation files or their adjudications were edited); restore them with "
                  "git checkout", file=sys.stderr)
            return 1
    for split, text in texts.items():
        (HERE / f"{split}.jsonl").write_text(text)
        print(f"{split}: {text.count(chr(10))} requests", file=sys.stderr)
    for split in ("train", "validation"):  # the package's copies (never test or unseen)
        (PACKAGE_DATA / f"corpus_{split}.jsonl").write_text(texts[split])
    (HERE / "SPLITS.sha256").write_text(
        "".join(f"{digests[s]}  {s}.jsonl\n" for s in texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
