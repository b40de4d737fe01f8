"""``PatternDetector``: rules and a learned text model, one confidence per pattern.

How a confidence is made: the request becomes normalised text (``text``), the
rules score it (``rules``), and one logistic model per pattern (scikit-learn
``SGDClassifier``, log loss) reads hashed word and character n-grams plus those
rule scores. Before the model has seen any example the rule score is the
confidence; after, the model's probability is. A pattern is detected when its
confidence reaches the pattern's own threshold.

Why one binary model per pattern rather than one multi-label estimator: feedback
arrives per pattern ("caching was wrong here"), so each model must be updatable
alone, with its own examples and weights (``partial_fit``). Everything is
deterministic: hashing is stateless and the optimiser's seed is fixed, so equal
inputs and equal training give equal confidences, in any process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, SGDClassifier

from onexgen.learning.patterns.clauses import ModelTexts, combine, model_texts
from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.features import (
    feature_matrix,
    vector_columns,
)
from onexgen.learning.patterns.head import MlpHead, fit_head
from onexgen.learning.patterns.library import PATTERN_NAMES, check_pattern
from onexgen.learning.patterns.linear import balanced_weights, model_from_rules, new_model
from onexgen.learning.patterns.rehearsal import Anchor, Rehearsal, sigmoid
from onexgen.learning.patterns.segments import scoring_parts
from onexgen.learning.patterns.thresholds import Evidence, choose_threshold
from onexgen.models.wire import GenerationRequest

DEFAULT_THRESHOLD = 0.5
DEFAULT_TARGET_PRECISION = 0.95


@dataclass(frozen=True, slots=True)
class DetectedPattern:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """One per-pattern verdict: ``request`` has ``pattern`` (or not), counted ``weight`` times."""

    request: GenerationRequest
    pattern: str
    positive: bool
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Features:
    """Requests' texts (whole, then clauses: ``clauses.model_texts``) and their model rows."""

    texts: ModelTexts
    rows: sp.csr_matrix

    @property
    def requests(self) -> sp.csr_matrix:
        """The whole requests' rows (what ``learn`` takes)."""
        return self.rows[:self.texts.requests]


@dataclass(frozen=True, slots=True)
class _StackedWeights:
    """Every model's weights side by side: one sparse product scores all patterns."""

    sources: tuple[object, ...]
    """The models' coef_/intercept_ arrays it was built from, held so their ids stay unique."""
    columns: npt.NDArray[np.intp]  # each model's index in PATTERN_NAMES
    weights: npt.NDArray[np.float64]  # (features, models)
    intercepts: npt.NDArray[np.float64]
    vector_weights: npt.NDArray[np.float64]
    """The text vector's rows of ``weights``, contiguous: the dense product's operand."""


@dataclass(slots=True)
class PatternDetector:
    config: DetectorConfig = field(default_factory=DetectorConfig)
    models: dict[str, SGDClassifier] = field(default_factory=dict)
    thresholds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(PATTERN_NAMES, DEFAULT_THRESHOLD))
    calibration: dict[str, list[Evidence]] = field(default_factory=dict)
    target_precision: float = DEFAULT_TARGET_PRECISION
    """The precision its thresholds were tuned for; feedback re-tunes aim at the same."""
    """Evidence the thresholds were tuned on (out-of-fold training predictions, then
    feedback); kept with the model so later feedback re-tunes against all of it."""
    head: MlpHead | None = field(default=None, compare=False)
    """The text vector's network (``config.vector_head == "mlp"``); its margins join the
    linear model's ``config.vector_blend`` times. None: the vector is read by the linear
    model's own columns (a logistic head, or none). Not compared: arrays."""
    _stacked: _StackedWeights | None = field(default=None, init=False, repr=False,
                                             compare=False)
    _rehearsed: tuple[object, object, npt.NDArray[np.float64]] | None = field(
        default=None, init=False, repr=False, compare=False)

    # --- detection -------------------------------------------------------------------

    def confidences(self, requests: Sequence[GenerationRequest]) -> npt.NDArray[np.float64]:
        """An (n_requests, n_patterns) array of confidences 0..1, ``PATTERN_NAMES`` order.

        Scored in two products, the sparse columns' and the text vector's dense block's
        (``features.feature_parts``): the same margins as ``confidences_of`` on the whole
        rows, within float rounding, for ~30 µs a request less. The rows are built from
        each request's clauses and name, each read once (``segments``)."""
        if not requests:
            return np.zeros((0, len(PATTERN_NAMES)))
        if not self.models:
            return np.round(model_texts(requests, clauses=False).rules, 6)
        found = model_texts(requests, clauses=self.config.clause_weight != 0)
        sparse, vectors = scoring_parts(found)
        stacked = self._stacked_weights()
        margins = sparse @ stacked.weights
        if self.head is None:
            margins += vectors @ stacked.vector_weights
        else:
            margins += self._head_margins(vectors)[:, stacked.columns]
        return self._confidences(found, margins + stacked.intercepts, stacked)

    def _head_margins(self, vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The network's part of each row's margins, all patterns (``vector_blend`` times)."""
        assert self.head is not None
        return self.config.vector_blend * self.head.margins(vectors)

    def _head_part(self, rows: sp.csr_matrix) -> npt.NDArray[np.float64]:
        """``_head_margins`` of these model rows' text-vector columns (zeros without a head)."""
        if self.head is None:
            return np.zeros((rows.shape[0], len(PATTERN_NAMES)))
        start, stop = vector_columns()
        return self._head_margins(rows[:, start:stop].toarray())

    def features(self, requests: Sequence[GenerationRequest]) -> Features:
        """Everything ``confidences_of`` scores, as whole rows (feedback scores them, then
        learns from the requests' rows)."""
        found = model_texts(requests, clauses=self.config.clause_weight != 0)
        return Features(found, feature_matrix(found.texts, found.rules))

    def featurise(self, requests: Sequence[GenerationRequest]
                  ) -> tuple[npt.NDArray[np.float64], sp.csr_matrix | None]:
        """Rule scores and model rows of the whole requests (what ``learn`` takes)."""
        if not requests:
            return np.zeros((0, len(PATTERN_NAMES))), None
        found = model_texts(requests, clauses=False)
        return found.rules, feature_matrix(found.texts, found.rules)

    def confidences_of(self, features: Features) -> npt.NDArray[np.float64]:
        """Confidences from ``features``' output (one sparse product over whole rows)."""
        found = features.texts
        if not self.models:
            return np.round(found.rules[:found.requests], 6)
        stacked = self._stacked_weights()
        margins = features.rows @ stacked.weights + stacked.intercepts
        if self.head is not None:
            margins += self._head_part(features.rows)[:, stacked.columns]
        return self._confidences(found, margins, stacked)

    def _confidences(self, found: ModelTexts, margins: npt.NDArray[np.float64],
                     stacked: _StackedWeights) -> npt.NDArray[np.float64]:
        out = found.rules[:found.requests].copy()
        out[:, stacked.columns] = sigmoid(combine(margins, found.requests, found.owner,
                                                   self.config.clause_weight))
        return np.round(out, 6)  # stable across BLAS builds' last-bit differences

    def _stacked_weights(self) -> _StackedWeights:
        """The models' weights as one matrix, rebuilt when any model's arrays were replaced
        (``fit`` and ``learn`` assign new ones). One product instead of one per pattern:
        per-call overhead was most of scoring the few-request chunks of a light load."""
        names = [n for n in PATTERN_NAMES if n in self.models]
        sources = tuple(a for n in names for a in (self.models[n].coef_,
                                                   self.models[n].intercept_))
        cached = self._stacked
        if cached is not None and len(cached.sources) == len(sources) and all(
                a is b for a, b in zip(cached.sources, sources, strict=True)):
            return cached
        weights = np.column_stack([self.models[n].coef_[0] for n in names])
        start, stop = vector_columns()
        self._stacked = _StackedWeights(
            sources, np.array([PATTERN_NAMES.index(n) for n in names], dtype=np.intp),
            weights, np.array([self.models[n].intercept_[0] for n in names]),
            np.ascontiguousarray(weights[start:stop]))
        return self._stacked

    def detect_many(self, requests: Sequence[GenerationRequest]) -> list[list[DetectedPattern]]:
        """Detected patterns per request, most confident first (one batched pass)."""
        conf = self.confidences(requests)
        cuts = np.array([self.thresholds[n] for n in PATTERN_NAMES])
        result = []
        for row in conf:
            hits = [DetectedPattern(PATTERN_NAMES[j], float(row[j]))
                    for j in np.flatnonzero(row >= cuts)]
            result.append(sorted(hits, key=lambda d: (-d.confidence, d.name)))
        return result

    def detect(self, request: GenerationRequest) -> list[DetectedPattern]:
        return self.detect_many([request])[0]

    # --- learning --------------------------------------------------------------------

    def fit(self, requests: Sequence[GenerationRequest],
            labels: Sequence[frozenset[str]]) -> PatternDetector:
        """Train every pattern's model from scratch on fully labeled requests.

        Two heads: the n-gram and rule columns are fitted by SGD with the text-vector
        columns held at zero; the text vectors are read by a network (``head``, when
        ``config.vector_head`` is ``"mlp"``) or by a ``LogisticRegression`` whose weights
        and intercept join SGD's in its text-vector columns. Either way the request scores
        ``sigmoid(m_ngrams + blend * m_vector)`` and feedback (``learn``) moves only the
        n-gram and rule columns. Why not one SGD fit over all columns: the dense columns,
        in every request, took the sparse ones' steps and validation average precision
        fell (BENCHMARKS.md).
        """
        rows = self.featurise(requests)[1]
        assert rows is not None or not requests
        self.models, self.head, self._rehearsed = {}, None, None
        if rows is None:
            return self
        start, stop = vector_columns()
        dense = rows[:, start:stop].toarray()
        sparse = rows.copy()
        sparse.data[(sparse.indices >= start) & (sparse.indices < stop)] = 0.0
        sparse.eliminate_zeros()
        blend = self.config.vector_blend
        network = self.config.vector_head == "mlp" and blend > 0
        if network:
            truth = np.array([[n in lab for n in PATTERN_NAMES] for lab in labels],
                             dtype=np.bool_)
            self.head = fit_head(dense, truth, self.config)
        for name in PATTERN_NAMES:
            y = np.array([name in lab for lab in labels], dtype=np.int64)
            if 0 < y.sum() < len(y):
                weights = balanced_weights(y, self.config.positive_boost)
                model = new_model(self.config)
                model.fit(sparse, y, sample_weight=weights)
                if blend > 0 and not network:
                    head = LogisticRegression(C=self.config.vector_c, max_iter=1000)
                    head.fit(dense, y, sample_weight=weights)
                    model.coef_[0, start:stop] = blend * head.coef_[0]
                    model.intercept_ = model.intercept_ + blend * head.intercept_
                self.models[name] = model
        return self

    def learn(self, examples: Sequence[TrainingExample],
              rows: sp.csr_matrix | None = None,
              steps: npt.NDArray[np.float64] | None = None,
              rehearsal: Rehearsal | None = None) -> float:
        """Incremental update from weighted per-pattern verdicts; returns seconds taken.

        A few gradient steps of the weighted log loss on each touched pattern's
        weights, chunk after chunk of ``config.update_chunk`` verdicts, each verdict's
        step its own (``rows``: the examples' feature rows, if already built).
        ``steps``: each column's step (``plasticity.feature_steps``); without it,
        ``config.update_step`` for every column. ``rehearsal``: requests whose
        confidences each step also holds (the log loss against their confidences when the
        rehearsal first met the pattern, on the columns the examples touch, weighted
        ``config.rehearsal_weight``: ``plasticity``).
        With ``config.learn_at_threshold``, a positive verdict's loss is centred on its
        pattern's threshold instead of 0.5: the logistic step fades as the example's
        confidence nears 1, so with a threshold at 0.85 a correction stopped being pushed
        just as it crossed it (BENCHMARKS.md, "Feedback against the threshold").
        Why not ``SGDClassifier.partial_fit``: its per-call validation costs ~2 ms
        per pattern, above the 10 ms budget for a whole feedback batch, and its
        step size after training is large enough for one batch of misses to raise
        every request's score. The intercept is left alone on purpose: feedback is
        a biased sample (true negatives are never reported), so it must not move
        the model's prior. A pattern without a model gets one from the rules.
        """
        started = time.perf_counter()
        if not examples:
            return 0.0
        if rows is None:
            rows = self.featurise([e.request for e in examples])[1]
        assert rows is not None
        step, decay, chunk = (self.config.update_step, self.config.alpha,
                              max(self.config.update_chunk, 1))
        vector_start, vector_stop = vector_columns()
        network = self._head_part(rows) if self.head is not None else None
        for name in sorted({check_pattern(e.pattern) for e in examples}):
            idx = [i for i, e in enumerate(examples) if e.pattern == name]
            x = rows[idx]
            y = np.array([float(examples[i].positive) for i in idx])
            w = np.array([examples[i].weight for i in idx]) / chunk
            model = self.models.get(name) or model_from_rules(self.config, name,
                                                                 rows.shape[1])
            # Only the columns these examples touch can change (L2 decay is applied to
            # them alone): a dense 65k-wide update per step would dominate the budget.
            # The text vector's columns stay as ``fit`` set them (in every request, they
            # would move every request's score, and the rehearsal's pull on them, three
            # unit vectors per row, overshot at the plain step); their part of each
            # example's margin is fixed, and counted.
            touched = np.unique(x.indices)
            frozen = (touched >= vector_start) & (touched < vector_stop)
            cols = touched[~frozen]
            xs = x[:, cols]
            coef = model.coef_[0].copy()
            fixed = np.asarray(x[:, touched[frozen]] @ coef[touched[frozen]],
                               dtype=np.float64) + model.intercept_[0]
            if network is not None:  # the text vector's network: fixed, and counted
                fixed += network[idx, PATTERN_NAMES.index(name)]
            if self.config.learn_at_threshold:  # positives learned against the cut
                fixed -= np.where(y == 1, self._whole_cut(name), 0.0)
            local = coef[cols]
            rate = step if steps is None else steps[cols]
            anchor = self._anchor(rehearsal, name, model, cols)
            for start in range(0, len(idx), chunk):  # per-event steps: see update_chunk
                part = slice(start, start + chunk)
                xc, yc, wc, fc = xs[part], y[part], w[part], fixed[part]
                xct = xc.T.tocsr()
                for _ in range(self.config.update_epochs):
                    p = sigmoid(xc @ local + fc)
                    gradient = xct @ (wc * (p - yc)) + decay * local
                    if anchor is not None:
                        gradient += anchor.gradient(local - coef[cols])
                    local -= rate * gradient
            coef[cols] = local
            model.coef_ = coef.reshape(1, -1)
            self.models[name] = model
        return time.perf_counter() - started

    def _whole_cut(self, name: str) -> float:
        """``name``'s threshold as a whole-text margin: the logit of the threshold over
        ``1 + clause_weight`` (a one-clause request scores ``(1 + clause_weight)`` times its
        whole margin), what a correction must exceed to be detected next time."""
        t = min(max(self.thresholds.get(name, DEFAULT_THRESHOLD), 1e-6), 1.0 - 1e-6)
        return float(np.log(t / (1.0 - t)) / (1.0 + self.config.clause_weight))

    def _anchor(self, rehearsal: Rehearsal | None, name: str, model: SGDClassifier,
                cols: npt.NDArray[np.intp]) -> Anchor | None:
        weight = self.config.rehearsal_weight
        if rehearsal is None or weight <= 0 or rehearsal.rows.shape[0] == 0:
            return None
        y = rehearsal.labels[name]
        n = len(y)
        pos = min(max(float(y.sum()), 1.0), n - 1.0)
        # Class-balanced, as in ``fit``, scaled so the whole sample weighs ``weight``.
        sample = np.where(y == 1, n / (2 * pos), n / (2 * (n - pos))) * weight / n
        sliced = rehearsal.rows[:, cols]
        margin = np.asarray(rehearsal.by_row @ model.coef_[0] + model.intercept_[0],
                            dtype=np.float64)
        if self.head is not None:
            margin += self.rehearsal_head_margins(rehearsal)[:, PATTERN_NAMES.index(name)]
        target = rehearsal.targets.setdefault(name, sigmoid(margin))
        # Both orientations once, so each of the many gradient products is a CSR one.
        return Anchor(sliced.tocsr(), sliced.T, margin, target, sample)

    def rehearsal_head_margins(self, rehearsal: Rehearsal) -> npt.NDArray[np.float64]:
        """The network's margins on the rehearsed rows, computed once per rehearsal and
        network (feedback does not change the network; 500 rows x 768 x 128 in every
        batch would take ~4 ms of its 10 ms budget). ``FeedbackLearner.prepare`` calls it
        before feedback comes."""
        cached = self._rehearsed
        if cached is not None and cached[0] is rehearsal.by_row and cached[1] is self.head:
            return cached[2]
        found = self._head_part(rehearsal.by_row)
        self._rehearsed = (rehearsal.by_row, self.head, found)
        return found

    def tune_thresholds(self, requests: Sequence[GenerationRequest],
                        labels: Sequence[frozenset[str]],
                        target_precision: float = DEFAULT_TARGET_PRECISION,
                        weights: Sequence[float] | None = None) -> dict[str, float]:
        """Per-pattern thresholds reaching ``target_precision`` on these labeled requests.

        Use requests the model did not train on (or out-of-fold confidences via
        ``tune_from_evidence``): thresholds tuned on training predictions are too low.
        """
        self.target_precision = target_precision
        conf = self.confidences(requests)
        w = list(weights) if weights is not None else [1.0] * len(requests)
        evidence = {name: [Evidence(float(conf[i, j]), name in labels[i], w[i])
                           for i in range(len(requests))]
                    for j, name in enumerate(PATTERN_NAMES)}
        return self.tune_from_evidence(evidence, target_precision, replace=True)

    def tune_from_evidence(self, evidence: dict[str, list[Evidence]],
                           target_precision: float = DEFAULT_TARGET_PRECISION,
                           replace: bool = False, only_raise: bool = False) -> dict[str, float]:
        """Add evidence (or replace it) and re-tune the thresholds it covers; returns them.

        ``only_raise``: for feedback evidence. Feedback shows false positives (so it
        can prove a threshold too low) but never the true negatives below the
        threshold (so it cannot prove a lower one safe): thresholds only go up.
        """
        for name, items in evidence.items():
            check_pattern(name)
            if replace:
                self.calibration[name] = list(items)
            else:
                self.calibration.setdefault(name, []).extend(items)
            cut = choose_threshold(self.calibration[name], target_precision)
            if cut is not None:
                self.thresholds[name] = max(cut, self.thresholds[name]) if only_raise else cut
        return dict(self.thresholds)
