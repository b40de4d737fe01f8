"""Feature rows for the learned text model: hashed words, hashed characters, rule scores.

Why hashing instead of a fitted TF-IDF vocabulary: the model learns online from
feedback, and a fitted vocabulary would ignore every word that first appears in
feedback. Hashing has no state, so a saved model never goes out of step with its
vectoriser, any process builds identical rows, and detection stays deterministic.
Word 1-2 grams carry phrases and the ``not_`` negation marks, over light stems
("retries", "retrying", "retried" -> "retry"), so one writer's inflection teaches
another's; character 3-5 grams (within words, unstemmed) carry spellings the word
grams miss. The
rule scores are appended, scaled, so the model starts from the rules' judgement
and learns where to overrule them.
"""

from __future__ import annotations

import itertools
import re
from array import array
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from onexgen.learning.patterns.embedding import StaticEmbeddings, shipped_embeddings, unit_rows
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.rules import rule_scores
from onexgen.learning.patterns.text import NEGATION_CUES

N_WORD_FEATURES = 2**15
N_CHAR_FEATURES = 2**15
RULE_SCALE = 2.0
FEATURE_VERSION = 3
"""What the columns mean beyond their count (saved with a model, checked on load):
1 = unstemmed words, description and operations; 2 = stemmed words, name included;
3 = 2 plus the static text vector (``embedding``) between the characters and the rules."""

_TOKEN_PATTERN = r"[a-z0-9_]+"  # noqa: S105 (a regex, not a secret)
_TOKENS = re.compile(_TOKEN_PATTERN)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "ied", "es", "ed", "s", "ly")
_STEMS: dict[str, str] = {}


def stem(token: str) -> str:
    """A light suffix-stripping stem (``not_`` kept): one suffix off, then a final "e" and
    a doubled consonant, so "caches"/"caching"/"cached" and "mapped"/"mapping" meet."""
    found = _STEMS.get(token)
    if found is not None:
        return found
    negated = token.startswith("not_")
    word = token[4:] if negated else token
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    found = f"not_{word}" if negated else word
    if len(_STEMS) >= 65_536:
        _STEMS.clear()  # bounded: names churn; the common words come straight back
    _STEMS[token] = found
    return found


def stemmed_tokens(text: str) -> list[str]:
    return [stem(t) for t in _TOKENS.findall(text)]


def _stemmed_gram(gram: str) -> list[str]:
    """A word 1- or 2-gram as the stemmed gram it counts as: stemming happens when a
    gram is first hashed (``CachedHasher``), so a known gram costs nothing more."""
    return [" ".join(stem(word) for word in gram.split(" "))]


_WORDS = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=N_WORD_FEATURES,
                           token_pattern=_TOKEN_PATTERN, lowercase=False,
                           preprocessor=lambda text: " ".join(stemmed_tokens(text)),
                           alternate_sign=False, norm="l2")
_CHARS = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=N_CHAR_FEATURES,
                           lowercase=False, alternate_sign=False, norm="l2")


POOLINGS = 3
"""The text vector's parts: the whole text's, and the element-wise max and min of its
clauses' (a paraphrase is one clause of a long request: the mean alone dilutes it;
BENCHMARKS.md, "Paraphrase")."""


def vector_columns() -> tuple[int, int]:
    """Where the text vector's columns are in a model row: [start, stop)."""
    start = N_WORD_FEATURES + N_CHAR_FEATURES
    return start, start + POOLINGS * shipped_embeddings().dims


def feature_width() -> int:
    """Columns of a model row: word block, character block, text vector, one rule score
    per pattern."""
    return vector_columns()[1] + len(PATTERN_NAMES)


def embedding_words(text: str) -> list[str]:
    """The words of a normalised clause that its vector is made of: negated words and the
    negation cues left out ("does not cache" must not read as caching)."""
    return [w for w in text.split() if not w.startswith("not_") and w not in NEGATION_CUES]


def text_vectors(texts: Sequence[str],
                 embeddings: StaticEmbeddings | None = None) -> npt.NDArray[np.float64]:
    """Per normalised text (clauses joined by `` . ``), its static vector (``embedding``)
    and its clauses' element-wise max and min: ``POOLINGS`` unit-scale parts side by side."""
    found = embeddings or shipped_embeddings()
    clauses = [[c for c in t.split(" . ") if c.strip()] for t in texts]
    sums = found.sums([embedding_words(c) for cs in clauses for c in cs])
    counts = np.array([len(c) for c in clauses], dtype=np.int64)
    return pool_vectors(sums, counts, np.arange(len(sums)), found.dims)


def pool_vectors(sums: npt.NDArray[np.float64], counts: npt.NDArray[np.int64],
                 members: npt.NDArray[np.intp], dims: int) -> npt.NDArray[np.float64]:
    """``text_vectors`` from clause vector sums: text ``r`` is made of ``counts[r]`` clauses,
    ``sums[members[...]]`` in order (``segments`` shares a request's clause sums between
    its whole row and its clause rows)."""
    out = np.zeros((len(counts), POOLINGS * dims))
    if not len(members):
        return out
    indptr = np.concatenate([[0], np.cumsum(counts)])
    first = indptr[:-1]
    per_text = sp.csr_matrix((np.ones(len(members)), members, indptr),
                             shape=(len(counts), len(sums)))
    out[:, :dims] = unit_rows(np.asarray(per_text @ sums))  # the whole text's: its clauses' sum
    # A clause without a known word (all negated, say) is left out of the max and min
    # (NaN rows, which fmax/fmin skip) instead of pulling them toward zero.
    units = unit_rows(sums)
    units[~sums.any(axis=1)] = np.nan
    high = np.full((len(counts), dims), -np.inf)
    low = np.full((len(counts), dims), np.inf)
    for k in range(int(counts.max())):  # k-th clause of every text that has one: a few
        # vectorised passes, cheaper than reduceat along rows (BENCHMARKS.md, "Paraphrase")
        chosen = np.flatnonzero(counts > k)
        clause = units[members[first[chosen] + k]]
        high[chosen] = np.fmax(high[chosen], clause)
        low[chosen] = np.fmin(low[chosen], clause)
    out[:, dims:2 * dims] = np.where(np.isfinite(high), high, 0.0)
    out[:, 2 * dims:] = np.where(np.isfinite(low), low, 0.0)
    return out


def rule_matrix(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """One row of rule scores (``PATTERN_NAMES`` order) per normalised text."""
    return np.vstack([rule_scores(t) for t in texts]) if texts else np.zeros((0, 0))


def feature_matrix(texts: Sequence[str], rules: npt.NDArray[np.float64]) -> sp.csr_matrix:
    """The model's input rows for normalised texts and their rule-score rows.

    Word columns, then character columns, then the text vector's, then the non-zero
    scaled rule scores: what ``sp.hstack`` of the four blocks gives (a test compares
    them), built as one matrix for the whole chunk: joining the blocks cost ~165 µs per
    chunk, and building the rows one text at a time (an ``np.unique`` per row and block)
    49 µs a request, against 34 counted for the chunk at once.
    """
    vector_offset = vector_columns()[0]
    dense = np.hstack([text_vectors(texts), rules * RULE_SCALE])
    return _count_rows(_hashed(texts), (0, WORD_HASHER.n_features),
                       vector_offset + dense.shape[1], (vector_offset, dense))


def feature_parts(texts: Sequence[str], rules: npt.NDArray[np.float64]
                  ) -> tuple[sp.csr_matrix, npt.NDArray[np.float64]]:
    """``feature_matrix``'s rows in two parts, for scoring: a CSR matrix of the same width
    with the text vector's columns empty, and the text vectors as a dense array.

    Why: the 768 text-vector values of every row, placed into the sparse rows and
    multiplied entry by entry, cost ~30 µs a request; a dense product of the vectors
    beside the sparse one gives the same margins (within float rounding: a test
    compares them on the validation split; BENCHMARKS.md, "Cheaper detection").
    Detection builds the same two parts from shared clauses (``segments``).
    """
    return sparse_part(_hashed(texts), rules), text_vectors(texts)


def sparse_part(columns: Sequence[tuple[list[int], list[int]]],
                rules: npt.NDArray[np.float64]) -> sp.csr_matrix:
    """``feature_parts``' sparse part from each row's word and character columns (each
    n-gram's, once per occurrence) and its rule scores."""
    stop = vector_columns()[1]
    return _count_rows(columns, (0, WORD_HASHER.n_features), stop + rules.shape[1],
                       (stop, rules * RULE_SCALE))


def _hashed(texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
    """Each text's word and character columns (counted by ``_count_rows``)."""
    return [(WORD_HASHER.columns(text), CHAR_HASHER.columns(text)) for text in texts]


Dense = tuple[int, npt.NDArray[np.float64]]
"""A dense block placed right of the counted ones: its first column, and its rows (zeros
are left out, as ``sp.hstack`` of a sparse copy would)."""


def _count_rows(blocks: Sequence[Sequence[list[int]]], offsets: Sequence[int], width: int,
                dense: Dense | None = None) -> sp.csr_matrix:
    """A CSR matrix with, per row, each block's column counts l2-normalised per block
    (block ``b``'s columns shifted right by ``offsets[b]``), then the ``dense`` block.

    One sort for the whole chunk: the key ``row * width + column`` orders entries by
    row, then column, so one ``np.unique`` counts every (row, column) at once. Counts
    are whole numbers, so a block's sum of squares is exact in any order: the values
    equal those of normalising row by row.
    """
    n_rows, n_blocks = len(blocks), len(offsets)
    lengths = np.array([[len(cols) for cols in row] for row in blocks],
                       dtype=np.int64).reshape(n_rows, n_blocks)
    columns = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(blocks)),
                          dtype=np.int64, count=int(lengths.sum()))
    shift = np.repeat(np.tile(np.asarray(offsets, dtype=np.int64), n_rows), lengths.ravel())
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), lengths.sum(axis=1))
    keys, counts = np.unique(row_of * width + columns + shift, return_counts=True)
    rows, cols = np.divmod(keys, width)
    values = counts.astype(np.float64)
    block_of = np.searchsorted(np.asarray(offsets[1:], dtype=np.int64), cols, side="right")
    group = rows * n_blocks + block_of
    values /= np.sqrt(np.bincount(group, weights=values * values,
                                  minlength=n_rows * n_blocks))[group]
    counted = np.bincount(rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    if dense is None:
        np.cumsum(counted, out=indptr[1:])
        return sp.csr_matrix((values, cols, indptr), shape=(n_rows, width))
    # Each row: its counted entries, then the dense block's, placed by offset (sorting
    # every entry cost ~40 µs a request once the text vector made rows ~800 entries
    # longer); its zeros are dropped after, in one pass.
    start, block = dense
    np.cumsum(counted + block.shape[1], out=indptr[1:])
    first = np.concatenate([[0], np.cumsum(counted)[:-1]])
    at = indptr[rows] + np.arange(len(rows)) - first[rows]
    at_dense = (indptr[:-1] + counted)[:, None] + np.arange(block.shape[1])
    out_cols = np.empty(int(indptr[-1]), dtype=np.int64)
    out_values = np.empty(int(indptr[-1]), dtype=np.float64)
    out_cols[at], out_values[at] = cols, values
    out_cols[at_dense] = start + np.arange(block.shape[1])
    out_values[at_dense] = block
    matrix = sp.csr_matrix((out_values, out_cols, indptr), shape=(n_rows, width))
    matrix.eliminate_zeros()
    return matrix


class CachedHasher:
    """What ``HashingVectorizer.transform`` computes (``alternate_sign=False``, l2 norm),
    with each unit of text hashed once per process instead of once per request.

    Why: the vectoriser re-derives and re-hashes every n-gram of every request, and
    its per-call checks cost about as much again; detection was a tenth of a
    request's CPU. Request texts share most of their words, so a bounded cache from
    a unit of text (a word, for character n-grams; a word 1- or 2-gram itself) to its
    hashed columns turns that into dict lookups. Same hash
    (MurmurHash3, seed 0), same columns, same normalisation: a test compares the
    matrices with scikit-learn's own for the labelled set.
    """

    def __init__(self, vectorizer: HashingVectorizer,
                 units: Callable[[str], list[str]], grams: Callable[[str], list[str]],
                 max_entries: int = 65_536) -> None:
        self.n_features = int(vectorizer.n_features)
        self._units = units
        self._grams = grams
        # 65,536 units (about 11 MB): the corpus's clause rows hold ~15,000 distinct word
        # grams, and at 8,192 the cache emptied itself before a batch came round again.
        self._max = max_entries
        # Columns as compact int arrays: a list of int objects per word cost ~1 KB, and
        # a 10-minute soak showed a process growing by the cache until it was cut.
        self._cache: dict[str, array[int]] = {}

    def _columns(self, unit: str) -> array[int]:
        columns = self._cache.get(unit)
        if columns is None:
            if len(self._cache) >= self._max:
                self._cache.clear()  # names churn; the common words come straight back
            columns = array("i", [_column(g, self.n_features) for g in self._grams(unit)])
            self._cache[unit] = columns
        return columns

    def columns(self, text: str) -> list[int]:
        """Every n-gram's column, once per occurrence (counted with the chunk's others)."""
        return self.unit_columns(self._units(text))

    def unit_columns(self, units: Iterable[str]) -> list[int]:
        """The columns of these units of text (``columns`` of a text is those of its units)."""
        columns: list[int] = []
        cache = self._cache
        for unit in units:
            known = cache.get(unit)  # inline: most units are known, a call each cost ~3 µs
            columns += self._columns(unit) if known is None else known
        return columns

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return _count_rows([(self.columns(text),) for text in texts], (0,), self.n_features)


def _column(gram: str, n_features: int) -> int:
    """The column scikit-learn's FeatureHasher gives ``gram`` (sklearn/_hashing_fast.pyx)."""
    h = int(murmurhash3_32(gram, seed=0))
    if h == -2147483648:
        return (2147483647 - (n_features - 1)) % n_features
    return abs(h) % n_features


def _word_grams(text: str) -> list[str]:
    """Word 1- and 2-grams of a text, unstemmed (``_stemmed_gram`` stems them once each)."""
    tokens = _TOKENS.findall(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


WORD_HASHER = CachedHasher(_WORDS, units=_word_grams, grams=_stemmed_gram)
# str.split() splits on runs of white space: what char_wb's white-space squeeze and
# split give, without the regex pass.
CHAR_HASHER = CachedHasher(_CHARS, units=str.split,
                            grams=_CHARS.build_analyzer())
