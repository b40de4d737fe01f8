"""Clause scoring: which texts the model reads, and how whole and clause margins combine."""

from __future__ import annotations

import numpy as np

from onexgen.learning.patterns.clauses import combine, model_texts
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.library import PATTERN_NAMES
from tests.unit.learning.conftest import make_request


def test_model_texts_one_clause_request_gets_no_clause_rows() -> None:
    found = model_texts([make_request("Caches the prices for an hour.")])
    assert found.requests == 1 and len(found.texts) == 1 and found.owner.tolist() == []


def test_model_texts_clauses_follow_their_request_with_its_name() -> None:
    requests = [make_request("Totals the claims. Caches the totals.", rid="a"),
                make_request("Sends an email.", rid="b"),
                make_request("Retries the call. It never caches. Logs it.", rid="c")]
    found = model_texts(requests)
    assert found.owner.tolist() == [0, 0, 2, 2, 2]
    assert len(found.texts) == len(found.rules) == 3 + 5
    clauses = found.texts[3:]
    assert all(t.endswith(" . thing") for t in found.texts), found.texts
    assert "cache" in clauses[1] and "cache" not in clauses[0]
    assert "not_cach" in clauses[3], "negation scope stays within the clause"
    caching = PATTERN_NAMES.index("caching")
    assert found.rules[4, caching] > found.rules[3, caching]
    assert model_texts(requests, clauses=False).texts == found.texts[:3]


def test_combine_adds_weight_times_the_best_clause_margin() -> None:
    margins = np.array([[1.0, -2.0],   # request 0, whole
                        [0.5, 0.5],    # request 1, whole (no clause rows: its own best)
                        [-1.0, 3.0],   # request 0, clause 1
                        [2.0, -4.0]])  # request 0, clause 2
    owner = np.array([0, 0])
    combined = combine(margins, 2, owner, 0.5)
    assert combined.tolist() == [[1.0 + 0.5 * 2.0, -2.0 + 0.5 * 3.0], [0.75, 0.75]]
    assert combine(margins, 2, owner, 0.0).tolist() == margins[:2].tolist()


def test_confidences_clause_weight_zero_equals_whole_text_scoring(
        trained: PatternDetector) -> None:
    """Weight 0 is the whole text alone; the shipped weight moves multi-clause requests
    and leaves a one-clause request's ranking (its margin scaled) the same."""
    from dataclasses import replace

    from onexgen.learning.patterns.persist import copy_of

    requests = [make_request("Totals the claims per region. Caches the totals for an hour. "
                             "E-mails the digest every morning.", rid="m"),
                make_request("Caches the prices for an hour.", rid="o")]
    whole = copy_of(trained)
    whole.config = replace(whole.config, clause_weight=0.0)
    plain = whole.confidences(requests)
    features = whole.features(requests)
    assert len(features.texts.texts) == 2, "weight 0 builds no clause rows"
    assert np.array_equal(plain, whole.confidences_of(features))
    scored = trained.confidences(requests)
    assert not np.allclose(scored[0], plain[0], atol=1e-3)
    order = np.argsort(plain[1]), np.argsort(scored[1])
    assert np.array_equal(order[0][-3:], order[1][-3:])


def test_rule_scores_within_text_equal_full_search_on_every_shipped_clause() -> None:
    """Skipping the patterns a clause's text scores 0 changes no clause's scores."""
    from onexgen.learning.patterns.dataset import (
        CORPUS_TRAIN_PATH,
        CORPUS_VALIDATION_PATH,
        TRAIN_PATH,
        load_labeled,
    )
    from onexgen.learning.patterns.rules import rule_scores
    from onexgen.learning.patterns.text import request_text

    checked = skipped = 0
    for path in (TRAIN_PATH, CORPUS_TRAIN_PATH, CORPUS_VALIDATION_PATH):
        for row in load_labeled(path):
            text = request_text(row.request)
            whole = rule_scores(text)
            for clause in text.split(" . "):
                full = rule_scores(clause)
                assert np.array_equal(rule_scores(clause, whole), full), clause
                checked += 1
                skipped += int((whole == 0).sum())
    assert checked > 10_000 and skipped > checked
