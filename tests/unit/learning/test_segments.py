"""Detection's rows built segment by segment equal the rows built text by text."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from onexgen.learning.patterns.clauses import ModelTexts, model_texts
from onexgen.learning.patterns.dataset import CORPUS_VALIDATION_PATH, TRAIN_PATH, load_labeled
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.features import feature_parts
from onexgen.learning.patterns.segments import scoring_parts
from onexgen.models.wire import GenerationRequest
from tests.unit.learning.conftest import make_request


def _assert_same_parts(found: ModelTexts) -> None:
    reference, reference_vectors = feature_parts(found.texts, found.rules)
    mine, vectors = scoring_parts(found)
    assert isinstance(mine, sp.csr_matrix) and mine.shape == reference.shape
    assert np.array_equal(mine.indptr, reference.indptr)
    assert np.array_equal(mine.indices, reference.indices)
    assert np.array_equal(mine.data, reference.data)
    assert np.array_equal(vectors, reference_vectors)


def _edge_requests() -> list[GenerationRequest]:
    """No text at all, a name without words, a repeated clause, negated clauses,
    operations only: the separators and spans a row is made of, at their edges."""
    nameless = make_request("Totals the claims. Caches the totals.", rid="e1")
    return [make_request("", rid="e0"),
            nameless.model_copy(update={"name": "_"}),
            nameless.model_copy(update={"name": "X"}),
            make_request("Retries it. Retries it. Never caches anything.", rid="e3"),
            make_request("", [("sum_sales", "per region"), ("publish", "to a topic")],
                         rid="e4"),
            make_request("One clause only", rid="e5")]


@pytest.mark.parametrize("clauses", [True, False])
def test_scoring_parts_equal_feature_parts_on_validation_split(clauses: bool) -> None:
    requests = [r.request for r in load_labeled(CORPUS_VALIDATION_PATH)]
    found = model_texts(requests + _edge_requests(), clauses=clauses)
    assert (len(found.texts) > 3 * len(requests)) is clauses
    _assert_same_parts(found)


def test_scoring_parts_equal_feature_parts_on_edge_requests() -> None:
    found = model_texts(_edge_requests())
    assert [n for n in found.names] == ["thing", "", "x", "thing", "thing", "thing"]
    assert found.owner.tolist() == [1, 1, 2, 2, 3, 3, 3, 4, 4]
    _assert_same_parts(found)
    _assert_same_parts(model_texts(_edge_requests()[1:2]))


def test_scoring_parts_request_alone_equals_it_in_a_batch() -> None:
    """Segments are shared within a request only: a row does not depend on its batch."""
    requests = [r.request for r in load_labeled(TRAIN_PATH)][:40]
    batch, vectors = scoring_parts(model_texts(requests))
    alone = [scoring_parts(model_texts([r])) for r in requests]
    whole = sp.vstack([a[0][:1] for a in alone], format="csr")
    assert abs(batch[:len(requests)] - whole).max() == 0
    assert np.array_equal(vectors[:len(requests)], np.vstack([a[1][:1] for a in alone]))


def test_confidences_segment_rows_equal_whole_rows_on_validation_split(
        trained: PatternDetector) -> None:
    """What detection scores (segment rows, two products) and what feedback scores (whole
    rows, one product) give equal confidences on every validation request."""
    requests = [r.request for r in load_labeled(CORPUS_VALIDATION_PATH)]
    new = trained.confidences(requests)
    old = trained.confidences_of(trained.features(requests))
    assert new.shape == (len(requests), 12) and (new > 0.5).sum() > len(requests) // 2
    assert np.array_equal(new, old)
