"""The figures issue 5 asks for, computed in one place for ``mixins eval`` and the bench.

Protocol (all labels are real outcomes):

1. sample ``per_type`` distinct random sets of 0-6 mixins for each node type
   and run each for real (``probe_composition``);
2. check a random sample of them again the slow way, as rendered packages in a
   child interpreter (``check_composition_for_real``), and count agreements;
3. split by combination (no combination in both train and test), fit on
   train, score on test: accuracy, precision/recall for "incompatible", Brier,
   ECE; the same for the data-only ablation (no catalogue features) and for
   the runtime's static catalogue as a baseline;
4. learning curve: a fresh model fed the train outcomes as feedback events;
5. timing: batched prediction per combination; one online update per
   feedback batch of 50 events (plus the 200 replayed outcomes).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from onexgen.learning.mixins.catalogue import ComboKey
from onexgen.learning.mixins.curve import as_feedback_stream, learning_curve
from onexgen.learning.mixins.data import (
    Outcome,
    probe_outcomes,
    sample_combinations,
    split_by_combination,
)
from onexgen.learning.mixins.evaluate import evaluate, static_accuracy
from onexgen.learning.mixins.model import CompatibilityModel, ModelConfig
from onexgen.learning.mixins.online import OnlineLearner

CURVE = (25, 50, 100, 200, 500, 1000, 2000, 4000)
FEEDBACK_BATCH = 50
LATENCY_BATCH = 10_000


SlowCheck = Callable[[Sequence[ComboKey]], list[Outcome]]
"""Labels combinations the slow way (``onexgen.generation.mixin_samples.subprocess_outcomes``)."""


def gather(per_type: int = 2500, *, seed: int = 0, subprocess_sample: int = 12,
           curve: tuple[int, ...] = CURVE, slow_check: SlowCheck | None = None) -> dict[str, Any]:
    """Run the whole protocol; a JSON-ready dict of figures.

    Step 2 runs only when ``slow_check`` is given: the caller (CLI, bench) passes
    generation's check, which this package cannot import (it sits below generation).
    """
    started = time.perf_counter()
    combos = sample_combinations(per_type, seed=seed)
    outcomes = probe_outcomes(combos)
    probe_s = time.perf_counter() - started
    figures: dict[str, Any] = {
        "per_type": per_type, "combinations": len(outcomes), "seed": seed,
        "probe_seconds": probe_s, "failure_rate": sum(not o.works for o in outcomes)
        / len(outcomes)}
    sample = random.Random(seed).sample(outcomes, min(subprocess_sample, len(outcomes)))
    if sample and slow_check is not None:
        real = slow_check([o.key for o in sample])
        figures["subprocess_sample"] = len(sample)
        figures["subprocess_agree"] = sum(a.works == b.works
                                          for a, b in zip(sample, real, strict=True))
        figures["subprocess_sample_failures"] = sum(not o.works for o in real)
    train, test = split_by_combination(outcomes, seed=seed)
    figures["train"], figures["test"] = len(train), len(test)
    fit_started = time.perf_counter()
    model = CompatibilityModel().fit(train)
    figures["fit_seconds"] = time.perf_counter() - fit_started
    figures["held_out"] = evaluate(model, test).to_dict()
    ablation = CompatibilityModel(ModelConfig(catalogue_features=False)).fit(train)
    figures["held_out_data_only"] = evaluate(ablation, test).to_dict()
    figures["static_catalogue"] = static_accuracy(test).to_dict()
    figures["learning_curve"] = [
        {"events": p.events, "accuracy": p.accuracy, "brier": p.brier}
        for p in learning_curve(train, test, curve, batch=FEEDBACK_BATCH, seed=seed)]
    figures.update(_timings(model, train, test))
    return figures


def _timings(model: CompatibilityModel, train: list[Any], test: list[Any]) -> dict[str, Any]:
    keys = [o.key for o in test]
    keys = (keys * (LATENCY_BATCH // max(len(keys), 1) + 1))[:LATENCY_BATCH]
    model.predict_keys(keys[:100])  # warm-up
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        model.predict_keys(keys)
        runs.append((time.perf_counter() - started) / len(keys))
    single = []
    for key in keys[:200]:
        started = time.perf_counter()
        model.predict_keys([key])
        single.append(time.perf_counter() - started)
    learner = OnlineLearner(model.copy(), base=train)
    stream = as_feedback_stream(test)
    updates = [learner.apply(stream[i:i + FEEDBACK_BATCH]).seconds
               for i in range(0, min(len(stream), 40 * FEEDBACK_BATCH), FEEDBACK_BATCH)]
    return {"predict_us_per_combination_batched": statistics.median(runs) * 1e6,
            "predict_us_single": statistics.median(single) * 1e6,
            "latency_batch": len(keys),
            "update_ms_per_batch_median": statistics.median(updates) * 1e3,
            "update_ms_per_batch_max": max(updates) * 1e3,
            "update_batches": len(updates), "feedback_batch": FEEDBACK_BATCH,
            "replayed_per_update": learner.replay}
