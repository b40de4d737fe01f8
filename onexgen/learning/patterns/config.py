"""``DetectorConfig``: the detector's recipe, each knob with the measurement that chose it.

Its own module because it is stored with every model (``persist`` writes it as JSON and
reads it back, a key missing from an older row taking the value that row was scored
with) and read by training, cross-validation, feedback and the benchmarks alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    alpha: float = 1e-4
    """L2 strength, chosen by leave-one-writer-out cross-validation over the training writers
    and on the validation split (3e-5, 3e-4 and 1e-5 measured worse; BENCHMARKS.md)."""
    epochs: int = 30
    update_epochs: int = 5
    update_step: float = 1.0
    """The step of every column when ``learn`` is given no per-column steps. Feedback
    (``FeedbackLearner``) gives them (``novel_step``, ``frequency_damping``): one step
    for every column raised common words with the new phrasing's, and 50 corrections
    cost 3.5 points of validation precision (BENCHMARKS.md)."""
    novel_step: float = 128.0
    """Feedback's step for a column no training request has (``plasticity``). 32 until
    session 18: raised with ``frequency_damping`` (a common column's step went down) and
    ``learn_at_threshold``, chosen on bench_patterns' two families and its long stream
    (the tuning data here; BENCHMARKS.md, "Feedback against the threshold"); earlier
    sweeps in "Feedback that does not cost precision elsewhere" and "Paraphrase"."""
    frequency_damping: float = 2000.0
    """A column's feedback step is ``novel_step / (1 + frequency_damping * df)``, ``df``
    the fraction of training requests having it: 2000 brings a column in one request of
    three to 1/667 (300 until session 18: 1/100), so corrections move new words, not
    common ones; with 1000 or 2000 the long stream's precision held better (BENCHMARKS.md,
    "Feedback against the threshold")."""
    learn_at_threshold: bool = True
    """Feedback's positive verdicts are learned against their pattern's threshold, not
    0.5 (``PatternDetector.learn``): with thresholds well above 0.5 the logistic step
    faded before a correction was detected. Together with the steps above, it learns a
    new phrasing faster at equal precision elsewhere (BENCHMARKS.md, "Feedback against
    the threshold"). A row stored before it keeps 0.5 (``persist``), with its own steps."""
    rehearsal_weight: float = 5.0
    """Weight of the rehearsed training requests' loss in each feedback step, against a
    chunk of feedback's 1 (``plasticity``): without it a long stream of feedback, which
    never reports true negatives, pushes every pattern up (BENCHMARKS.md)."""
    update_chunk: int = 5
    """Feedback is learned in consecutive chunks of this many verdicts per pattern, each
    verdict's gradient scaled by ``weight / update_chunk`` (per event, not per batch):
    the step a verdict gets, and so the learning rate, no longer depends on how many
    verdicts share a processor batch (25 corrections in one batch learned like 5 before:
    18 % family recall against 44.5 % in batches of 5). Chunks, rather than one summed
    step for the whole batch: a summed step over many similar rows overshoots."""
    seed: int = 7
    vector_c: float = 3.0
    """Inverse L2 strength of the logistic text-vector head (``vector_head="logistic"``)."""
    vector_head: str = "mlp"
    """``"mlp"``: the text vector is read by a one-hidden-layer network (``head``), kept as
    plain arrays beside the linear model; ``"logistic"``: by a ``LogisticRegression`` whose
    weights live in the linear model's text-vector columns (every model stored before the
    network; BENCHMARKS.md, "The MLP head")."""
    mlp_hidden: int = 128
    mlp_alpha: float = 1e-3
    mlp_tol: float = 1e-3
    """The network's fit stops when its training loss improved by less than this for ten
    epochs (scikit-learn's criterion): 1e-4 took ~500 epochs to a training loss of 0.03."""
    mlp_max_iter: int = 1000
    """A bound never reached on the corpus (``head.fit_head`` raises if it is)."""
    vector_blend: float = 0.35
    """How much of the text-vector head's margin joins the n-gram model's (0: none).
    Below validation's best (0.5) because feedback cannot move the head, so a larger
    share slows the learning of new phrasings it scores low (BENCHMARKS.md, "Paraphrase")."""
    clause_weight: float = 0.5
    """How much of a request's best clause's margin joins its whole text's (``clauses``;
    0: the whole text alone, as every model stored before it scored; BENCHMARKS.md,
    "Clauses scored")."""
    positive_boost: float = 1.0
    """Positives are rare: each class is weighted by (n / (2 * its count)) ** positive_boost
    (1.0: scikit-learn's "balanced" weights)."""
