"""Each clause of a request scored as well as the whole: what the model reads, and how
the two margins combine.

Why: the model is one linear score of the whole text, so a pattern that one clause of a
long, multi-pattern request describes is diluted by the others ("Totals the claims per
region. Caches the totals for an hour. Emails a digest"), and a long request's words
for other patterns pull its score around. Scoring each clause with the same weights and
adding the best clause's margin to the whole text's (``clause_weight`` times) lets one
clear clause carry its pattern. Chosen by leave-one-writer-out cross-validation and on
the validation split (BENCHMARKS.md, "Clauses scored"): weight 0.5, average precision
+0.6 on both, recall +2-3 points at equal precision.

A request of one clause is its own best clause (its clause row would equal its whole
row), so only requests of two or more clauses get clause rows. Each clause row reads
the clause and the node's name, as the whole row reads the text and the name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from onexgen.learning.patterns.features import rule_matrix
from onexgen.learning.patterns.rules import name_rule_matrix, rule_scores
from onexgen.learning.patterns.text import name_words, request_text
from onexgen.models.wire import GenerationRequest

_SEPARATOR = " . "
"""How ``text.request_text`` joins a request's clauses."""


@dataclass(frozen=True, slots=True)
class ModelTexts:
    """The texts the model scores for some requests: one per request, then the clauses."""

    texts: list[str]
    rules: npt.NDArray[np.float64]
    """Each text's rule scores (``PATTERN_NAMES`` order), same order as ``texts``."""
    requests: int
    """The first ``requests`` texts are the whole requests'."""
    owner: npt.NDArray[np.intp]
    """Each clause text's request (ascending: a request's clauses are contiguous)."""
    clauses: list[list[str]]
    """Each request's clauses (its text is them joined by `` . ``): ``segments`` builds the
    rows from them."""
    names: list[str]
    """Each request's node name as words (``text.name_words``)."""


def model_texts(requests: Sequence[GenerationRequest], clauses: bool = True) -> ModelTexts:
    """The whole requests' texts (text, then the name's words) and, with ``clauses``, one
    text per clause of every request of two or more."""
    texts = [request_text(r) for r in requests]
    # The node's name counts too (text.name_words): the model reads it after the text,
    # the rules score its words alone (rules.name_rule_matrix: cached, word by word).
    names = [name_words(r) for r in requests]
    name_rules = name_rule_matrix(names)
    whole = [f"{t}{_SEPARATOR}{n}" for t, n in zip(texts, names, strict=True)]
    text_rules = rule_matrix(texts)
    rules = np.maximum(text_rules, name_rules)
    owner: list[int] = []
    parts: list[str] = []
    split = [[c for c in text.split(_SEPARATOR) if c.strip()] for text in texts]
    if clauses:
        for i, found in enumerate(split):
            if len(found) > 1:
                parts += found
                owner += [i] * len(found)
    at = np.asarray(owner, dtype=np.intp)
    if parts:
        clause_rules = np.vstack([rule_scores(c, text_rules[i])
                                  for c, i in zip(parts, owner, strict=True)])
        rules = np.vstack([rules, np.maximum(clause_rules, name_rules[at])])
        whole += [f"{c}{_SEPARATOR}{names[i]}" for c, i in zip(parts, owner, strict=True)]
    return ModelTexts(whole, rules, len(requests), at, split, names)


def combine(margins: npt.NDArray[np.float64], requests: int, owner: npt.NDArray[np.intp],
            weight: float) -> npt.NDArray[np.float64]:
    """Per request, its whole margin plus ``weight`` times its best clause's (rows of
    ``margins`` in ``ModelTexts`` order; a request without clause rows is its own)."""
    whole = margins[:requests]
    if weight == 0 or not len(owner):
        return whole.copy() if weight == 0 else whole * (1.0 + weight)
    starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
    best = whole.copy()
    best[owner[starts]] = np.maximum.reduceat(margins[requests:], starts, axis=0)
    return whole + weight * best
