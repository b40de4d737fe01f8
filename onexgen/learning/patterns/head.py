"""The text-vector head as a small neural network: plain arrays, applied with numpy.

Why a hidden layer: the logistic head read each of the 768 text-vector columns on its own,
so "keeps recently fetched results in memory" scored caching only as far as each of its
dimensions leaned that way; one hidden layer (128 ReLU units) shared by the twelve
patterns learns combinations of them. Chosen on leave-one-writer-out cross-validation and
the validation split (BENCHMARKS.md, "The MLP head").

Fitted with scikit-learn's ``MLPClassifier`` (one multi-label network, Adam, fixed seed,
stopped by its own tolerance: ``DetectorConfig.mlp_tol``), then kept as four arrays only:
a stored model never holds a scikit-learn object, and loading one builds nothing but
arrays (``persist``). Its margins join the n-gram model's, ``vector_blend`` times; feedback
does not move it (its part of each margin is fixed, like the logistic head's columns).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.errors import ModelFormatError, PatternError


@dataclass(frozen=True, slots=True)
class MlpHead:
    """``relu(v @ hidden_weights + hidden_bias) @ output_weights + output_bias``: one margin
    per pattern (``PATTERN_NAMES`` order) for each text vector ``v``.

    Stored as float32 (half the bytes), applied in float64: in float32 a row's margins
    depended on how many rows shared its product (BLAS blocks), ~1e-6 apart, so feedback in
    one batch of 25 and in five of 5 learned different weights."""

    hidden_weights: npt.NDArray[np.float64]  # (vector dims, hidden units)
    hidden_bias: npt.NDArray[np.float64]
    output_weights: npt.NDArray[np.float64]  # (hidden units, patterns)
    output_bias: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        dims, hidden = self.hidden_weights.shape
        if (self.hidden_bias.shape != (hidden,) or self.output_weights.shape[0] != hidden
                or self.output_bias.shape != (self.output_weights.shape[1],)):
            raise ModelFormatError(f"MLP head arrays do not fit together ({dims} x {hidden}, "
                               f"{self.output_weights.shape}); retrain the model")

    @property
    def dims(self) -> int:
        return int(self.hidden_weights.shape[0])

    @property
    def outputs(self) -> int:
        return int(self.output_weights.shape[1])

    def margins(self, vectors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Each row's margins (logits) per pattern, float64."""
        if vectors.shape[0] == 0:
            return np.zeros((0, self.outputs))
        # One BLAS thread: these products are small, and OpenBLAS's second thread spins on
        # a core another process needs (a feedback batch's update: 10 -> 30-70 ms on a
        # loaded machine). Pool processes already hold one thread (generation.engine).
        with _controller().limit(limits=1, user_api="blas"):
            hidden = np.asarray(vectors, dtype=np.float64) @ self.hidden_weights
            hidden += self.hidden_bias
            np.maximum(hidden, 0.0, out=hidden)
            out = hidden @ self.output_weights
        out += self.output_bias
        return np.asarray(out, dtype=np.float64)

    def arrays(self) -> dict[str, npt.NDArray[np.float32]]:
        """Its arrays by name, float32 (exact: they were rounded to it when fitted);
        ``persist`` stores them so, ``from_arrays`` reads them."""
        return {name: array.astype(np.float32) for name, array in zip(
            _NAMES, (self.hidden_weights, self.hidden_bias, self.output_weights,
                     self.output_bias), strict=True)}


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    """Built once (it inspects the loaded libraries, ~ms); its ``limit`` then costs ~6 µs."""
    return ThreadpoolController()


_NAMES = ("head_hidden_weights", "head_hidden_bias", "head_output_weights", "head_output_bias")


def from_arrays(arrays: dict[str, npt.NDArray[np.generic]]) -> MlpHead:
    """The head ``MlpHead.arrays`` stored (``KeyError`` if one is missing)."""
    return MlpHead(*(_as_float32_values(arrays[k]) for k in _NAMES))


def _as_float32_values(array: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """float64 holding float32 values: what is stored is exactly what is applied."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.float32), dtype=np.float64)


def fit_head(vectors: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_],
             config: DetectorConfig) -> MlpHead:
    """One multi-label network on these text vectors (rows) and labels (rows x patterns).

    Deterministic (``config.seed``). A fit that stops at ``mlp_max_iter`` rather than at
    its tolerance raises: a bound reached silently would make the model depend on it.
    """
    from sklearn.neural_network import MLPClassifier  # fitting only; loading never needs it

    network = MLPClassifier((config.mlp_hidden,), alpha=config.mlp_alpha,
                            max_iter=config.mlp_max_iter, tol=config.mlp_tol,
                            random_state=config.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            network.fit(vectors.astype(np.float32), labels.astype(np.int64))
        except ConvergenceWarning as exc:
            raise PatternError(f"the MLP head did not converge in {config.mlp_max_iter} "
                               "iterations; raise mlp_max_iter or mlp_tol") from exc
    (w1, w2), (b1, b2) = network.coefs_, network.intercepts_
    return MlpHead(*(_as_float32_values(a) for a in (w1, b1, w2, b2)))
