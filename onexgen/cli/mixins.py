"""``onexgen mixins``: score a mixin set, train and store the model, measure it.

    onexgen mixins predict --node-type T MIXIN... [--policy P] [--threshold X] [--json]
    onexgen mixins train [--per-type N] [--no-db]
    onexgen mixins eval [--per-type N] [--subprocess-sample K] [--json]

``predict`` uses the newest model stored in Postgres when the database is
reachable, else one trained on the spot from real probes (a note on stderr
says which). ``train`` probes random sets for real, adds the feedback events
stored in Postgres, measures the model on held-out combinations, and stores it
as a new version (``--no-db``: measure only). ``eval`` runs the whole evidence
protocol (``learning.mixins.evidence``) without touching the database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from onexgen.cli.args import non_negative_int


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give one in 0..1, "
                                         "e.g. 0.5") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..1; give e.g. 0.5")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("mixins", help="mixin compatibility: predict, train, eval")
    inner = p.add_subparsers(dest="mixins_command", required=True, metavar="ACTION",
                             parser_class=type(p))
    pr = inner.add_parser("predict", help="score a node type with a set of mixins")
    pr.add_argument("--node-type", required=True, type=str.lower,
                    choices=["effect", "compute", "reducer", "orchestrator"])
    pr.add_argument("mixins", nargs="*", metavar="MIXIN", help="e.g. Retry Metrics Caching")
    pr.add_argument("--policy", choices=["reject", "auto_resolve", "off"], default="reject")
    pr.add_argument("--threshold", type=_probability, default=0.5)
    pr.add_argument("--json", action="store_true", help="print the assessment as JSON")
    pr.add_argument("--no-db", action="store_true", help="do not look for a stored model")
    pr.set_defaults(handler=handle_predict)
    tr = inner.add_parser("train", help="train from real probes + stored feedback; store it")
    tr.add_argument("--per-type", type=non_negative_int, default=2500,
                    help="random mixin sets probed per node type (default 2500)")
    tr.add_argument("--no-db", action="store_true", help="train and measure, store nothing")
    tr.set_defaults(handler=handle_train)
    ev = inner.add_parser("eval", help="held-out accuracy, calibration, learning curve, timing")
    ev.add_argument("--per-type", type=non_negative_int, default=2500)
    ev.add_argument("--subprocess-sample", type=non_negative_int, default=12,
                    help="combinations re-checked as real packages in a child process")
    ev.add_argument("--seed", type=non_negative_int, default=0)
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.set_defaults(handler=handle_eval)


async def _stored_model() -> tuple[Any, str]:
    from onexgen.learning.models_store import ModelStore
    from onexgen.settings import load_settings
    from onexgen.storage.pool import Database

    settings = load_settings()
    async with await Database.open(settings.database_url.get_secret_value(), min_size=0,
                                   max_size=1, attempts=1) as db:
        loaded = await ModelStore(db.pool).latest_mixin_model()
    if loaded is None:
        return None, "no model stored yet (run `onexgen mixins train`)"
    return loaded.model, f"stored model version {loaded.version}"


def _model(no_db: bool) -> Any:
    from onexgen.learning.mixins.gate import current_model
    from onexgen.storage.errors import StorageError

    note = "--no-db"
    if not no_db:
        try:
            model, note = asyncio.run(_stored_model())
        except StorageError as exc:
            model, note = None, f"no stored model ({exc})"
        if model is not None:
            print(f"onexgen: using {note}", file=sys.stderr)
            return model
    print(f"onexgen: {note}; training a model from real probes now", file=sys.stderr)
    return current_model()


def handle_predict(args: argparse.Namespace) -> int:
    from onexgen.learning.mixins.gate import assess

    result = assess(args.node_type, args.mixins, policy=args.policy,
                    threshold=args.threshold, model=_model(args.no_db))
    if args.json:
        print(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return 0
    print(f"node type   {result.node_type.upper()}")
    print(f"mixins      {', '.join(result.requested) or '(none)'}")
    print(f"score       {result.score:.4f}  (probability the composition works)")
    print(f"decision    {result.decision}: {result.reason}")
    for conflict in result.conflicts:
        print(f"conflict    {conflict}")
    for s in result.suggestions:
        state = "verified" if s.verified else "unverified"
        print(f"suggestion  {s.change} -> [{', '.join(s.mixins)}] score {s.score:.4f} ({state})")
    return 0


def handle_train(args: argparse.Namespace) -> int:
    return asyncio.run(_train(args.per_type, store=not args.no_db))


async def _train(per_type: int, *, store: bool) -> int:
    from onexgen.learning.mixin_service import outcome_of
    from onexgen.learning.mixins.model import CompatibilityModel
    from onexgen.learning.mixins.online import OnlineLearner, retrain
    from onexgen.learning.models_store import ModelStore
    from onexgen.settings import load_settings
    from onexgen.storage.pool import Database
    from onexgen.storage.repositories.models import MixinFeedbackRepository

    if per_type < 10:
        print("onexgen: --per-type must be at least 10 to train; e.g. --per-type 2500",
              file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    from onexgen.learning.mixins.data import probe_outcomes, sample_combinations

    base = await loop.run_in_executor(None, lambda: probe_outcomes(
        sample_combinations(per_type, seed=0)))
    learner = OnlineLearner(CompatibilityModel(), base=base)
    db = None
    if store:
        db = await Database.open(load_settings().database_url.get_secret_value(), min_size=0,
                                 max_size=2, attempts=2)
    try:
        if db is not None:
            events = await MixinFeedbackRepository(db.pool).all()
            learner.feedback.extend(o for o in map(outcome_of, events) if o is not None)
        result = await loop.run_in_executor(None, retrain, learner.snapshot(), learner.model)
        held = result.metrics["held_out"]
        assert isinstance(held, dict)
        print(f"trained on {len(base)} probed combinations + {len(learner.feedback)} stored "
              f"feedback events in {result.seconds:.1f} s")
        print(f"held-out ({result.metrics['test_outcomes']} combinations): accuracy "
              f"{held['accuracy']:.4f}, incompatible precision {held['precision_incompatible']}, "
              f"recall {held['recall_incompatible']}, Brier {held['brier']:.5f}, "
              f"ECE {held['ece']:.4f}")
        if db is not None:
            version = await ModelStore(db.pool).save_mixin_model(
                result.model, metrics=result.metrics,
                params={"reason": "onexgen mixins train", "per_type": per_type})
            print(f"stored as model version {version}")
    finally:
        if db is not None:
            await db.close()
    return 0


def handle_eval(args: argparse.Namespace) -> int:
    from onexgen.generation.mixin_samples import subprocess_outcomes
    from onexgen.learning.mixins.evidence import gather

    if args.per_type < 10:
        print("onexgen: --per-type must be at least 10 to evaluate; e.g. --per-type 2500",
              file=sys.stderr)
        return 2
    figures = gather(args.per_type, seed=args.seed, subprocess_sample=args.subprocess_sample,
                     slow_check=subprocess_outcomes)
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    else:
        print(render(figures))
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def render(f: dict[str, Any]) -> str:
    """The eval figures as a short text report."""
    lines = [f"{f['combinations']} combinations probed for real ({f['per_type']} per node type, "
             f"{100 * f['failure_rate']:.1f}% fail); split by combination: {f['train']} train, "
             f"{f['test']} test"]
    if "subprocess_sample" in f:
        lines.append(f"subprocess check of {f['subprocess_sample']} as rendered packages: "
                     f"{f['subprocess_agree']} agree with the in-process probe")
    lines.append(f"{'model':<34} {'accuracy':>9} {'prec(inc)':>9} {'rec(inc)':>9} "
                 f"{'Brier':>8} {'ECE':>7}")
    for label, key in (("model (catalogue + membership)", "held_out"),
                       ("ablation: membership features only", "held_out_data_only"),
                       ("static catalogue (baseline)", "static_catalogue")):
        e = f[key]
        lines.append(f"{label:<34} {_pct(e['accuracy']):>9} "
                     f"{_pct(e['precision_incompatible']):>9} {_pct(e['recall_incompatible']):>9} "
                     f"{e['brier']:>8.5f} {e['ece']:>7.4f}")
    lines.append("learning curve (fresh model, train outcomes replayed as feedback events):")
    lines += [f"  {p['events']:>6} events: accuracy {_pct(p['accuracy'])}, Brier {p['brier']:.4f}"
              for p in f["learning_curve"]]
    lines.append(f"prediction: {f['predict_us_per_combination_batched']:.1f} us per combination "
                 f"(batch of {f['latency_batch']}), {f['predict_us_single']:.1f} us alone")
    lines.append(f"online update: {f['update_ms_per_batch_median']:.2f} ms median per batch of "
                 f"{f['feedback_batch']} events (+{f['replayed_per_update']} replayed), max "
                 f"{f['update_ms_per_batch_max']:.2f} ms")
    return "\n".join(lines)
