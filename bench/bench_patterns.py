"""Pattern matching: test-split quality before/after feedback, latency, update time.

Needs no services: everything runs in process on the committed data. The model
is trained on ``data/patterns/train.jsonl`` only; ``test.jsonl`` is used only to
measure. Two feedback settings (see ``learning.patterns.evaluate``): ``full``
(the shipped model, feedback on its own train predictions, as issue 5 asks) and
``seeded`` (a model from half of train, feedback on the unseen other half).

    python -m bench.bench_patterns     # prints the table, writes bench/results/patterns.json
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.report import Report
from onexgen.learning.patterns.dataset import TRAIN_PATH, load_labeled
from onexgen.learning.patterns.evaluate import (
    FEEDBACK_BATCH,
    FeedbackExperiment,
    feedback_experiment,
)
from onexgen.learning.patterns.training import train_detector
from onexgen.learning.scoring import Counts

TEST_PATH = Path(__file__).resolve().parents[1] / "data" / "patterns" / "test.jsonl"

LATENCY_REPEAT = 10


def _quality(report: Report, label: str, c: Counts) -> None:
    p, r, fpr, f1 = c.precision or 0.0, c.recall or 0.0, c.false_positive_rate or 0.0, c.f1 or 0.0
    report.add(f"{label} precision", 100 * p, "%", goal=">= 95", met=p >= 0.95)
    report.add(f"{label} recall", 100 * r, "%", goal=">= 85", met=r >= 0.85)
    report.add(f"{label} false-positive rate", 100 * fpr, "%", goal="<= 2", met=fpr <= 0.02)
    report.add(f"{label} F1", 100 * f1, "%")


def _experiment(report: Report, exp: FeedbackExperiment) -> None:
    _quality(report, f"test, {exp.setting}, before feedback", exp.before.overall)
    _quality(report, f"test, {exp.setting}, after feedback", exp.after.overall)
    for what, ms in (("model update + thresholds", [u.update_seconds * 1e3 for u in exp.updates]),
                     ("whole batch incl. features", [u.seconds * 1e3 for u in exp.updates])):
        median = statistics.median(ms)
        report.add(f"{exp.setting}: {what} per feedback batch, median", median, "ms",
                   goal="<= 10", met=median <= 10,
                   note=f"{exp.events} events, batches of {FEEDBACK_BATCH}; max {max(ms):.1f} ms")


def run() -> Report:
    train, test = load_labeled(TRAIN_PATH), load_labeled(TEST_PATH)
    report = Report("pattern matching (learning.patterns)",
                    params={"train": len(train), "test": len(test),
                            "target_precision": 0.95})
    started = time.perf_counter()
    detector = train_detector(train)
    report.add("training time (5-fold thresholds + final fit)",
               time.perf_counter() - started, "s")

    requests = [r.request for r in test] * LATENCY_REPEAT
    detector.detect_many(requests[:10])  # warm-up: imports, first allocations
    started = time.perf_counter()
    detector.detect_many(requests)
    per_request = (time.perf_counter() - started) / len(requests)
    report.add("detection latency per request, batched", per_request * 1e6, "us",
               goal="<= 1000", met=per_request <= 1e-3,
               note=f"one detect_many call over {len(requests)} requests")

    _experiment(report, feedback_experiment(train, test, "full", base=detector))
    _experiment(report, feedback_experiment(train, test, "seeded"))
    return report


if __name__ == "__main__":
    result = run()
    print(result.render())
    print(f"written to {result.write_json('patterns')}")
