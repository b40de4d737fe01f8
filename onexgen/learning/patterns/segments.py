"""Detection's rows built from each request's segments, every segment read once.

Why: with clause scoring (``clauses``) a request of k clauses has k + 1 rows, its whole
text's and one per clause, each followed by the node's name. Built text by text
(``features.feature_parts``), every clause was tokenised, hashed and looked up twice and
the name k + 1 times; on the corpus's long requests (3.4 clause rows a request) that
nearly doubled detection's cost (BENCHMARKS.md, "Clauses scored").

What a row is made of, in its text's terms: a row's text is its segments (clauses, then
the name) joined by `` . ``. Its word 1-grams and the 2-grams inside a segment are its
segments'; the 2-grams that span a `` . `` (the last word of one segment and the first of
the next: the separator is no token) are the row's own; its character n-grams are its
segments' words', plus one `` . `` word per separator; its text vector pools its
segments' token-vector sums (``features.pool_vectors``). So each segment's columns and
vector sum are computed once per request and every row takes them, and ``scoring_parts``
gives exactly ``feature_parts``' matrices (a test compares them on the validation split).
Segments are shared within a request only, never between requests of a batch: a batch of
repeated requests must not look cheaper than real traffic.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from onexgen.learning.patterns.clauses import ModelTexts
from onexgen.learning.patterns.embedding import shipped_embeddings
from onexgen.learning.patterns.features import (
    CHAR_HASHER,
    WORD_HASHER,
    embedding_words,
    pool_vectors,
    sparse_part,
)

Columns = tuple[list[int], list[int]]
"""A row's (or a segment's) word and character columns, each n-gram's once per occurrence."""


def scoring_parts(found: ModelTexts) -> tuple[sp.csr_matrix, npt.NDArray[np.float64]]:
    """``features.feature_parts(found.texts, found.rules)``, built segment by segment."""
    dot = CHAR_HASHER.unit_columns(["."])
    clause_rows = np.bincount(found.owner, minlength=found.requests)
    whole: list[Columns] = []
    parts: list[Columns] = []
    segment_words: list[list[str]] = []
    members: list[int] = []  # each row's segments (indices into segment_words), row by row
    counts: list[int] = []
    part_members: list[int] = []
    for i, (clauses, name) in enumerate(zip(found.clauses, found.names, strict=True)):
        segments = [*clauses, name] if name else list(clauses)
        first = len(segment_words)
        tokens = [s.split() for s in segments]
        columns = [_segment_columns(s, t) for s, t in zip(segments, tokens, strict=True)]
        segment_words += [embedding_words(s) for s in segments]
        words, chars = [], dot * max(len(clauses), 1)
        for cols in columns:
            words += cols[0]
            chars += cols[1]
        words += WORD_HASHER.unit_columns(
            [f"{a[-1]} {b[0]}" for a, b in itertools.pairwise(tokens)])
        whole.append((words, chars))
        members += range(first, first + len(segments))
        counts.append(len(segments))
        if not clause_rows[i]:
            continue
        for k, clause in enumerate(columns[:len(clauses)]):
            if name:  # the clause, then the name: its last segment
                span = WORD_HASHER.unit_columns([f"{tokens[k][-1]} {tokens[-1][0]}"])
                parts.append((clause[0] + columns[-1][0] + span,
                              clause[1] + columns[-1][1] + dot))
                part_members += [first + k, first + len(clauses)]
            else:
                parts.append((clause[0], clause[1] + dot))
                part_members.append(first + k)
    rows = whole + parts
    sparse = sparse_part(rows, found.rules)
    embeddings = shipped_embeddings()
    part_counts = [2 if name else 1 for name, n in zip(found.names, clause_rows.tolist(),
                                                       strict=True) for _ in range(n)]
    vectors = pool_vectors(embeddings.sums(segment_words),
                           np.array(counts + part_counts, dtype=np.int64),
                           np.array(members + part_members, dtype=np.intp), embeddings.dims)
    return sparse, vectors


def _segment_columns(segment: str, tokens: list[str]) -> Columns:
    """A segment's own word 1- and 2-grams' columns and its words' character n-grams'."""
    grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    return WORD_HASHER.unit_columns(grams), CHAR_HASHER.unit_columns(tokens)
