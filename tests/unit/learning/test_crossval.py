"""Leave-one-writer-out cross-validation: each writer is scored by a model that never saw it."""

from __future__ import annotations

import pytest

from onexgen.learning.patterns.crossval import AUTHOR, leave_one_writer_out
from onexgen.learning.patterns.dataset import LabeledRequest, parse_labeled
from onexgen.learning.patterns.errors import PatternError
from tests.unit.learning.conftest import make_request

SUBJECTS = ["invoice", "parcel", "ticket", "order", "claim", "meter", "ledger", "refund"]


MEMO = "Serves the {} totals from a memo kept warm."
STASH = "Answers {} lookups out of the stash."


def _rows(writer: str, caching: str) -> list[LabeledRequest]:
    """Caching in this writer's own phrasing; the other half has no pattern."""
    rows = [LabeledRequest(make_request(caching.format(s),
                                        rid=f"r{writer}-c{i}"), frozenset({"caching"}),
                           writer=writer)
            for i, s in enumerate(SUBJECTS)]
    rows += [LabeledRequest(make_request(f"Holds the {s} owner and the colour of its badge.",
                                         rid=f"r{writer}-n{i}"), frozenset(), writer=writer)
             for i, s in enumerate(SUBJECTS)]
    return rows


def test_leave_one_writer_out_writer_only_vocabulary_is_not_learned_for_that_writer() -> None:
    shared = _rows("w1", MEMO) + _rows("w2", MEMO) + _rows("", MEMO)
    alone = _rows("w3", STASH)  # no other writer's words, no rule's
    result = leave_one_writer_out(shared + alone, alone)
    assert set(result.per_writer) == {"w1", "w2", "w3", AUTHOR}
    assert result.pooled.requests == len(shared) + len(alone)
    assert result.per_writer["w1"].recall == 1.0  # the others taught it "memo"
    assert result.per_writer["w3"].recall < 0.5  # nobody else wrote "stash"
    assert result.validation is not None and result.validation.recall == 1.0  # w3 seen


def test_leave_one_writer_out_one_writer_raises_naming_the_need() -> None:
    with pytest.raises(PatternError, match="two writers"):
        leave_one_writer_out(_rows("w1", MEMO))


def test_parse_labeled_keeps_the_corpus_writer() -> None:
    line = ('{"request_id": "w4-0001", "node_type": "effect", "name": "A", "domain": "d", '
            '"description": "x", "operations": [], "expected_patterns": [], "writer": "w4"}')
    assert parse_labeled(line).writer == "w4"
