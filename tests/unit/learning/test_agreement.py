"""Exact-set rate and Cohen's kappa, against hand-computed values."""

from __future__ import annotations

import pytest

from onexgen.learning.patterns.agreement import agreement, cohen_kappa, exact_set_rate
from onexgen.learning.patterns.dataset import LabeledRequest
from tests.unit.learning.conftest import make_request


def test_cohen_kappa_textbook_table_gives_known_value() -> None:
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: p_o = 0.7, p_e = 0.5, kappa = 0.4
    a = [True] * 25 + [False] * 25
    b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_identical_is_one_and_constant_raters_undefined() -> None:
    assert cohen_kappa([True, False, True], [True, False, True]) == pytest.approx(1.0)
    assert cohen_kappa([False, False], [False, False]) is None


def test_cohen_kappa_unequal_lengths_raises() -> None:
    with pytest.raises(ValueError, match="equally long"):
        cohen_kappa([True], [True, False])


def test_exact_set_rate_counts_whole_set_matches_only() -> None:
    expected = [frozenset({"crud"}), frozenset({"crud", "query"}), frozenset()]
    assert exact_set_rate(expected, [{"crud"}, {"crud"}, set()]) == pytest.approx(2 / 3)


def test_agreement_compares_detector_adjudicated_and_each_annotator() -> None:
    rows = [LabeledRequest(make_request(rid=f"r{i}"), frozenset(exp),
                           (("A", frozenset(a)), ("B", frozenset(b))))
            for i, (exp, a, b) in enumerate([({"crud"}, {"crud"}, {"crud"}),
                                              (set(), set(), {"crud"}),
                                              ({"query"}, {"query"}, set()),
                                              (set(), set(), set())])]
    report = agreement(rows, [{"crud"}, {"crud"}, set(), set()])
    assert report.exact_set == pytest.approx(0.5)
    assert set(report.kappa) == {("detector", "adjudicated"), ("detector", "A"),
                                 ("detector", "B"), ("A", "B")}
    # crud: detector [1,1,0,0] vs adjudicated [1,0,0,0]: p_o .75, p_e .5*.25+.5*.75 = .5
    assert report.kappa[("detector", "adjudicated")]["crud"] == pytest.approx(0.5)
    assert report.kappa[("detector", "B")]["crud"] == pytest.approx(1.0)
    assert report.kappa[("A", "B")]["query"] == pytest.approx(0.0)
    assert "crud" in report.render() and "A~B" in report.render()
