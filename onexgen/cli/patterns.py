"""``onexgen patterns``: detect patterns in requests, evaluate on labeled sets, train.

    onexgen patterns detect [--model PATH] < requests.jsonl
    onexgen patterns eval FILE.jsonl [--json] [--model PATH]
    onexgen patterns train [--data FILE.jsonl] [--out PATH]

Without ``--model`` the default detector is trained from the committed
``data/patterns/train.jsonl`` at first use (about a second, deterministic).
``detect`` keeps going past a bad line: it reports it on stderr with its line
number and exits 1 at the end, so one typo does not hide the other results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson


def register(sub: Any) -> None:
    p = sub.add_parser("patterns", help="detect patterns in requests; evaluate; train")
    inner = p.add_subparsers(dest="patterns_command", required=True, metavar="ACTION",
                             parser_class=type(p))
    detect = inner.add_parser("detect", help="JSON-lines requests on stdin -> detected patterns")
    detect.add_argument("--model", type=Path, help="a model saved by `onexgen patterns train`")
    detect.set_defaults(handler=handle_detect)
    ev = inner.add_parser("eval", help="precision/recall/FPR/F1 on a labeled JSON-lines file")
    ev.add_argument("file", type=Path, help='requests with an "expected_patterns" list each')
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument("--model", type=Path, help="a model saved by `onexgen patterns train`")
    ev.set_defaults(handler=handle_eval)
    train = inner.add_parser("train", help="train a model from labeled requests and save it")
    train.add_argument("--data", type=Path, default=None,
                       help="labeled JSON lines (default: data/patterns/train.jsonl)")
    train.add_argument("--out", type=Path, default=Path("patterns.model"),
                       help="where to write the model (default: patterns.model)")
    train.set_defaults(handler=handle_train)


def _detector(model: Path | None) -> Any:
    from onexgen.learning.patterns.persist import load
    from onexgen.learning.patterns.training import default_detector

    if model is None:
        return default_detector()
    if not model.is_file():
        raise FileNotFoundError(2, "model not found", str(model))
    return load(model)


def handle_detect(args: argparse.Namespace) -> int:
    from onexgen.learning.patterns.dataset import describe_error, parse_request

    detector = _detector(args.model)
    failed = 0
    for number, line in enumerate(sys.stdin.buffer, start=1):
        if not line.strip():
            continue
        try:
            request = parse_request(line)
        except ValueError as exc:  # JSON and pydantic errors are both ValueErrors
            failed += 1
            print(f"onexgen: line {number}: {describe_error(exc)}; fix or drop that line",
                  file=sys.stderr)
            continue
        found = detector.detect(request)
        out = {"request_id": request.request_id,
               "patterns": [{"name": d.name, "confidence": round(d.confidence, 4)}
                            for d in found]}
        sys.stdout.buffer.write(orjson.dumps(out) + b"\n")
    sys.stdout.flush()
    return 1 if failed else 0


def handle_eval(args: argparse.Namespace) -> int:
    from onexgen.learning.patterns.dataset import load_labeled
    from onexgen.learning.patterns.errors import DatasetError
    from onexgen.learning.patterns.evaluate import evaluate

    if not args.file.is_file():
        print(f"onexgen: {args.file} does not exist; give a JSON-lines file of labeled requests",
              file=sys.stderr)
        return 2
    try:
        rows = load_labeled(args.file)
    except DatasetError as exc:
        print(f"onexgen: {exc}; fix that line", file=sys.stderr)
        return 2
    report = evaluate(_detector(args.model), rows)
    if args.json:
        print(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(report.render())
    return 0


def handle_train(args: argparse.Namespace) -> int:
    import time

    from onexgen.learning.patterns.dataset import TRAIN_PATH
    from onexgen.learning.patterns.errors import DatasetError
    from onexgen.learning.patterns.persist import save
    from onexgen.learning.patterns.training import train_from_file

    started = time.perf_counter()
    try:
        detector = train_from_file(args.data or TRAIN_PATH)
    except DatasetError as exc:
        print(f"onexgen: {exc}; fix that line", file=sys.stderr)
        return 2
    save(detector, args.out)
    print(f"trained on {args.data or TRAIN_PATH} in {time.perf_counter() - started:.1f} s; "
          f"model written to {args.out}")
    return 0
