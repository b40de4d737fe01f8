"""Mixin compatibility: held-out quality on real outcomes, learning curve, latency, updates.

Needs no services: labels come from real composition checks in process
(``probe_composition``) plus a sample re-checked as rendered packages in a
child interpreter. See ``learning.mixins.evidence`` for the protocol.

    python -m bench.bench_mixins     # prints the table, writes bench/results/mixins.json
"""

from __future__ import annotations

from typing import Any

from bench.report import Report
from onexgen.generation.mixin_samples import subprocess_outcomes
from onexgen.learning.mixins.evidence import gather

PER_TYPE = 2500
SUBPROCESS_SAMPLE = 12


def _quality(report: Report, label: str, e: dict[str, Any], *, goals: bool) -> None:
    acc = e["accuracy"]
    report.add(f"{label}: held-out accuracy", 100 * acc, "%",
               goal=">= 98" if goals else "", met=acc >= 0.98 if goals else None)
    for what in ("precision", "recall"):
        value = e[f"{what}_incompatible"]
        report.add(f"{label}: {what} for 'incompatible'",
                   100 * value if value is not None else float("nan"), "%")
    report.add(f"{label}: Brier score", e["brier"], "", note="0 perfect, 0.25 coin flip")
    report.add(f"{label}: expected calibration error", e["ece"], "", note="10 bins")


def run(per_type: int = PER_TYPE) -> Report:
    f = gather(per_type, subprocess_sample=SUBPROCESS_SAMPLE, slow_check=subprocess_outcomes)
    report = Report("mixin compatibility (learning.mixins)", params={
        "combinations": f["combinations"], "per_node_type": per_type, "train": f["train"],
        "test": f["test"], "split": "by combination", "failure_rate": round(f["failure_rate"], 4)})
    if "subprocess_sample" in f:
        report.add("subprocess check agrees with in-process probe", f["subprocess_agree"],
                   f"of {f['subprocess_sample']}", met=f["subprocess_agree"]
                   == f["subprocess_sample"],
                   note=f"{f['subprocess_sample_failures']} of the sample fail for real")
    _quality(report, "model", f["held_out"], goals=True)
    _quality(report, "ablation, membership features only", f["held_out_data_only"], goals=False)
    report.add("static catalogue baseline: accuracy", 100 * f["static_catalogue"]["accuracy"],
               "%", note="check_composition judged against the same real outcomes")
    for point in f["learning_curve"]:
        report.add(f"learning curve: accuracy after {point['events']} feedback events",
                   100 * point["accuracy"], "%", note=f"Brier {point['brier']:.4f}")
    us = f["predict_us_per_combination_batched"]
    report.add("prediction latency per combination, batched", us, "us", goal="<= 100",
               met=us <= 100, note=f"batch of {f['latency_batch']}; "
               f"{f['predict_us_single']:.1f} us for a batch of one")
    ms = f["update_ms_per_batch_median"]
    report.add("online update per feedback batch, median", ms, "ms", goal="<= 10", met=ms <= 10,
               note=f"{f['feedback_batch']} events + {f['replayed_per_update']} replayed; "
               f"max {f['update_ms_per_batch_max']:.2f} ms over {f['update_batches']} batches")
    report.add("full fit on the train split", f["fit_seconds"], "s")
    return report


if __name__ == "__main__":
    result = run()
    print(result.render())
    print(f"written to {result.write_json('mixins')}")
