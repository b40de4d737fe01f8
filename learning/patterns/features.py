"""Feature rows for the learned text model: hashed words, hashed characters, rule scores.

Why hashing instead of a fitted TF-IDF vocabulary: the model learns online from
feedback, and a fitted vocabulary would ignore every word that first appears in
feedback. Hashing has no state, so a saved model never goes out of step with its
vectoriser, any process builds identical rows, and detection stays deterministic.
Word 1-2 grams carry phrases and the ``not_`` negation marks; character 3-5
grams (within words) carry inflections and spellings the word grams miss. The
rule scores are appended, scaled, so the model starts from the rules' judgement
and learns where to overrule them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from learning.patterns.rules import rule_scores

N_WORD_FEATURES = 2**15
N_CHAR_FEATURES = 2**15
RULE_SCALE = 2.0

_WORDS = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=N_WORD_FEATURES,
                           token_pattern=r"[a-z0-9_]+",  # noqa: S106 (a regex, not a secret)
                           lowercase=False, alternate_sign=False, norm="l2")
_CHARS = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=N_CHAR_FEATURES,
                           lowercase=False, alternate_sign=False, norm="l2")


def rule_matrix(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """One row of rule scores (``PATTERN_NAMES`` order) per normalised text."""
    return np.vstack([rule_scores(t) for t in texts]) if texts else np.zeros((0, 0))


def feature_matrix(texts: Sequence[str], rules: npt.NDArray[np.float64]) -> sp.csr_matrix:
    """The model's input rows for normalised texts and their rule-score rows."""
    words = _WORDS.transform(texts)
    chars = _CHARS.transform(texts)
    return sp.hstack([words, chars, sp.csr_matrix(rules * RULE_SCALE)], format="csr")
