"""``onexgen patterns``: detect patterns in requests, evaluate on labeled sets, train.

    onexgen patterns detect [--model PATH] < requests.jsonl
    onexgen patterns eval FILE.jsonl [--json] [--model PATH]
    onexgen patterns train [--data FILE.jsonl [--validation FILE.jsonl]] [--out PATH]
    onexgen patterns crossval [--json]

Without ``--model`` the shipped default detector is used (trained on the corpus's
train split, thresholds from its validation split; see ``learning.patterns.training``).
``train`` without ``--data`` rebuilds that default model; ``crossval`` measures its
recipe by leave-one-writer-out cross-validation over the shipped training writers
(``learning.patterns.crossval``), then on validation at the out-of-fold thresholds.
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
    ev = inner.add_parser("eval", help="precision/recall/FPR/F1, exact-set rate and "
                          "Cohen's kappa per pattern on a labeled JSON-lines file")
    ev.add_argument("file", type=Path, help='requests with an "expected_patterns" list each')
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument("--model", type=Path, help="a model saved by `onexgen patterns train`")
    ev.set_defaults(handler=handle_eval)
    train = inner.add_parser("train", help="train a model from labeled requests and save it")
    train.add_argument("--data", type=Path, default=None,
                       help="labeled JSON lines (default: the shipped default recipe)")
    train.add_argument("--validation", type=Path, default=None,
                       help="labeled JSON lines to choose the thresholds on (with --data; "
                            "without it, thresholds come from out-of-fold predictions)")
    train.add_argument("--out", type=Path, default=Path("patterns.model"),
                       help="where to write the model (default: patterns.model)")
    train.set_defaults(handler=handle_train)
    cv = inner.add_parser("crossval", help="leave-one-writer-out cross-validation of the "
                          "default recipe on the shipped training writers, then validation")
    cv.add_argument("--json", action="store_true", help="print the figures as JSON")
    cv.set_defaults(handler=handle_crossval)


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
    from onexgen.learning.patterns.agreement import agreement, render_eval
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
    detector = _detector(args.model)
    predicted = [{d.name for d in found} for found in detector.detect_many(
        [r.request for r in rows])]
    report = evaluate(detector, rows)
    agree = agreement(rows, predicted)
    if args.json:
        print(orjson.dumps({**report.to_dict(), **agree.to_dict()},
                           option=orjson.OPT_INDENT_2).decode())
    else:
        print(render_eval(report, agree))
    return 0


def handle_train(args: argparse.Namespace) -> int:
    import time

    from onexgen.learning.patterns.dataset import load_labeled
    from onexgen.learning.patterns.errors import PatternError
    from onexgen.learning.patterns.persist import save
    from onexgen.learning.patterns.training import (
        train_default,
        train_from_file,
        train_with_validation,
    )

    if args.validation is not None and args.data is None:
        print("onexgen: --validation needs --data (the file to learn the weights from)",
              file=sys.stderr)
        return 2
    for path in (args.data, args.validation):
        if path is not None and not path.is_file():
            print(f"onexgen: {path} does not exist; give a JSON-lines file of labeled "
                  "requests", file=sys.stderr)
            return 2
    started = time.perf_counter()
    try:
        if args.data is None:
            detector, source = train_default(), "the shipped corpus (default recipe)"
        elif args.validation is None:
            detector, source = train_from_file(args.data), str(args.data)
        else:
            detector = train_with_validation(load_labeled(args.data),
                                             load_labeled(args.validation))
            source = f"{args.data} (thresholds from {args.validation})"
    except PatternError as exc:
        print(f"onexgen: {exc}; fix that line", file=sys.stderr)
        return 2
    save(detector, args.out)
    print(f"trained on {source} in {time.perf_counter() - started:.1f} s; "
          f"model written to {args.out}")
    return 0


def handle_crossval(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from onexgen.learning.patterns.crossval import leave_one_writer_out
    from onexgen.learning.patterns.dataset import (
        CORPUS_TRAIN_PATH,
        CORPUS_VALIDATION_PATH,
        TRAIN_PATH,
        load_labeled,
    )

    result = leave_one_writer_out(load_labeled(CORPUS_TRAIN_PATH) + load_labeled(TRAIN_PATH),
                                  load_labeled(CORPUS_VALIDATION_PATH))
    if args.json:
        print(orjson.dumps(asdict(result), option=orjson.OPT_INDENT_2).decode())
    else:
        print(result.render())
    return 0
