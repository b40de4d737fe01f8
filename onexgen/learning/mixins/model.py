"""``CompatibilityModel``: probability that a node type with a mixin set works.

A logistic model (scikit-learn ``SGDClassifier``, log loss) over the columns of
``features``. Logistic regression because its output is a probability that is
already close to calibrated (the evaluation measures how close: Brier score and
expected calibration error), because a conflict is additive in its features
(any one bad pair or unmet requirement sinks the set), and because it learns
online: ``partial_fit`` moves the weights a little per feedback batch, and a
full ``fit`` rebuilds them from every outcome.

Two learning rates on purpose: ``fit`` uses scikit-learn's ``optimal`` schedule
(steps shrink as training proceeds, good for a full pass); online updates use a
*constant* step, otherwise a model trained on thousands of outcomes would take
steps so small that a user reporting "this failed in use" changed nothing.

Prediction skips scikit-learn's per-call validation (it costs more than the
dot product): rows are built by ``FeatureSpace`` and scored with one matrix
product, so a batch costs a few microseconds per combination.

Persistence is plain arrays and JSON (``to_bytes``/``from_bytes``), not pickle:
a model row in Postgres can be loaded without executing anything.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import SGDClassifier

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, NODE_TYPE_NAMES, ComboKey, combo_key
from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.errors import ModelFormatError, TrainingDataError
from onexgen.learning.mixins.features import FeatureSpace

FORMAT = "onexgen.mixins/1"


@dataclass(frozen=True, slots=True)
class ModelConfig:
    alpha: float = 1e-4
    """L2 strength: keeps weights finite on separable data, so probabilities stay calibrated."""
    epochs: int = 30
    online_step: float = 0.1
    online_epochs: int = 2
    seed: int = 0
    catalogue_features: bool = True


@dataclass(slots=True)
class CompatibilityModel:
    config: ModelConfig = field(default_factory=ModelConfig)
    coef: npt.NDArray[np.float64] | None = None
    intercept: float = 0.0
    steps: float = 1.0
    """SGD's update counter ``t_``; kept so a loaded model continues where it stopped."""
    examples_seen: float = 0.0
    """Total weight of the outcomes that shaped the model (full fits and online updates)."""
    _space: FeatureSpace = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._space = FeatureSpace(catalogue=self.config.catalogue_features)

    @property
    def space(self) -> FeatureSpace:
        return self._space

    @property
    def fitted(self) -> bool:
        return self.coef is not None

    # --- prediction ------------------------------------------------------------------

    def predict_keys(self, keys: Sequence[ComboKey]) -> npt.NDArray[np.float64]:
        """Probability each canonical combination works; 0.5 for all before any training."""
        if self.coef is None or not keys:
            return np.full(len(keys), 0.5)
        z = self._space.transform(keys) @ self.coef.astype(np.float32) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))), dtype=np.float64)

    def predict(self, node_type: object, mixins: Sequence[str]) -> float:
        """Probability that ``node_type`` with ``mixins`` works (unknown mixins are ignored)."""
        return float(self.predict_keys([combo_key(node_type, mixins)])[0])

    # --- learning --------------------------------------------------------------------

    def fit(self, outcomes: Sequence[Outcome]) -> CompatibilityModel:
        """Train from scratch on every outcome (weights as given)."""
        x, y, w = self._arrays(outcomes)
        if len(set(y.tolist())) < 2:
            raise TrainingDataError(f"{len(outcomes)} outcomes are all "
                                    f"{'successes' if y.all() else 'failures'}; "
                                    "probe more combinations before training")
        clf = self._classifier("optimal")
        clf.fit(x, y, sample_weight=w)
        self._take(clf)
        self.examples_seen = float(w.sum())
        return self

    def partial_fit(self, outcomes: Sequence[Outcome]) -> float:
        """One online update from a feedback batch; returns the seconds it took."""
        started = time.perf_counter()
        if not outcomes:
            return 0.0
        x, y, w = self._arrays(outcomes)
        clf = self._classifier("constant")
        if self.coef is not None:
            self._restore_into(clf, x.shape[1])
        for _ in range(self.config.online_epochs):
            clf.partial_fit(x, y, classes=np.array([0, 1]), sample_weight=w)
        self._take(clf)
        self.examples_seen += float(w.sum())
        return time.perf_counter() - started

    def copy(self) -> CompatibilityModel:
        return from_bytes(to_bytes(self))

    def _arrays(self, outcomes: Sequence[Outcome]) -> tuple[npt.NDArray[np.float64],
                                                             npt.NDArray[np.int64],
                                                             npt.NDArray[np.float64]]:
        # float64 for training: scikit-learn keeps the weights in the rows' dtype, and
        # restored weights are float64.
        x = self._space.transform([o.key for o in outcomes]).astype(np.float64)
        y = np.array([o.works for o in outcomes], dtype=np.int64)
        return x, y, np.array([o.weight for o in outcomes], dtype=np.float64)

    def _classifier(self, schedule: str) -> SGDClassifier:
        c = self.config
        return SGDClassifier(loss="log_loss", alpha=c.alpha, max_iter=c.epochs, tol=None,
                             random_state=c.seed, learning_rate=schedule, eta0=c.online_step)

    def _restore_into(self, clf: SGDClassifier, width: int) -> None:
        """Give an unfitted classifier this model's weights.

        A first call on one all-zero row (no gradient reaches the weights) lets
        scikit-learn set up its shapes and bookkeeping; then the weights are ours.
        """
        assert self.coef is not None
        clf.partial_fit(np.zeros((1, width)), np.array([0]),
                        classes=np.array([0, 1]), sample_weight=np.array([1e-12]))
        clf.coef_ = self.coef.reshape(1, -1).copy()
        clf.intercept_ = np.array([self.intercept])
        clf.t_ = self.steps

    def _take(self, clf: SGDClassifier) -> None:
        self.coef = np.asarray(clf.coef_[0], dtype=np.float64).copy()
        self.intercept = float(clf.intercept_[0])
        self.steps = float(clf.t_)


def to_bytes(model: CompatibilityModel) -> bytes:
    """NumPy ``.npz`` holding the weights and a JSON header (format, layout, config)."""
    header = {"format": FORMAT, "mixins": list(MIXIN_NAMES), "node_types": list(NODE_TYPE_NAMES),
              "config": asdict(model.config), "intercept": model.intercept,
              "steps": model.steps, "examples_seen": model.examples_seen}
    buffer = io.BytesIO()
    coef = model.coef if model.coef is not None else np.zeros(0)
    np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
             coef=coef, fitted=np.array([model.coef is not None]))
    return buffer.getvalue()


def from_bytes(data: bytes) -> CompatibilityModel:
    """Load bytes written by ``to_bytes``; refuses another format or another catalogue."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode())
            coef, fitted = arrays["coef"].astype(np.float64), bool(arrays["fitted"][0])
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFormatError(f"not a mixin model ({exc}); retrain with "
                               "`onexgen mixins train`") from exc
    if header.get("format") != FORMAT:
        raise ModelFormatError(f"mixin model format {header.get('format')!r} is not {FORMAT}; "
                               "retrain with `onexgen mixins train`")
    if header["mixins"] != list(MIXIN_NAMES) or header["node_types"] != list(NODE_TYPE_NAMES):
        raise ModelFormatError("the mixin catalogue changed since this model was trained; "
                               "retrain with `onexgen mixins train`")
    model = CompatibilityModel(ModelConfig(**header["config"]))
    if fitted:
        if coef.shape != (model.space.width,):
            raise ModelFormatError("mixin model has the wrong number of features; retrain with "
                                   "`onexgen mixins train`")
        model.coef = coef
    model.intercept, model.steps = float(header["intercept"]), float(header["steps"])
    model.examples_seen = float(header["examples_seen"])
    return model
