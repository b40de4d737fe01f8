"""Metric arithmetic, checked against figures worked out by hand."""

from __future__ import annotations

import pytest

from onexgen.learning.scoring import Counts, ratio, score

LABELS = ["a", "b"]


def test_score_hand_computed_pairs_gives_expected_counts_and_ratios() -> None:
    # request 1: expected {a}, predicted {a, b} -> a TP, b FP
    # request 2: expected {a, b}, predicted {b} -> a FN, b TP
    # request 3: expected {}, predicted {}      -> a TN, b TN
    # request 4: expected {b}, predicted {a}    -> a FP, b FN
    pairs = [({"a"}, {"a", "b"}), ({"a", "b"}, {"b"}), (set(), set()), ({"b"}, {"a"})]
    report = score(pairs, LABELS)
    a, b = report.per_label["a"], report.per_label["b"]
    assert a == Counts(tp=1, fp=1, fn=1, tn=1)
    assert b == Counts(tp=1, fp=1, fn=1, tn=1)
    assert a.precision == pytest.approx(0.5)
    assert a.recall == pytest.approx(0.5)
    assert a.false_positive_rate == pytest.approx(0.5)
    assert a.f1 == pytest.approx(0.5)
    overall = report.overall
    assert overall == Counts(tp=2, fp=2, fn=2, tn=2)
    assert report.requests == 4


def test_score_unbalanced_labels_micro_average_sums_counts() -> None:
    # a: TP 3, FP 1, FN 0, TN 1 ; b: TP 0, FP 0, FN 2, TN 3
    pairs = [({"a"}, {"a"}), ({"a"}, {"a"}), ({"a", "b"}, {"a"}), ({"b"}, {"a"}), (set(), set())]
    report = score(pairs, LABELS)
    assert report.per_label["a"] == Counts(3, 1, 0, 1)
    assert report.per_label["b"] == Counts(0, 0, 2, 3)
    micro = report.overall
    assert micro.precision == pytest.approx(3 / 4)
    assert micro.recall == pytest.approx(3 / 5)
    assert micro.false_positive_rate == pytest.approx(1 / 5)
    assert micro.f1 == pytest.approx(6 / 9)


def test_ratio_zero_denominator_is_undefined_not_zero() -> None:
    assert ratio(0, 0) is None
    never_predicted = Counts(tp=0, fp=0, fn=3, tn=5)
    assert never_predicted.precision is None
    assert never_predicted.recall == 0.0
    no_negatives = Counts(tp=2, fp=0, fn=0, tn=0)
    assert no_negatives.false_positive_rate is None
    assert Counts().f1 is None


def test_render_undefined_values_show_as_dash() -> None:
    text = score([(set(), set())], LABELS).render()
    assert "micro-average" in text
    assert " - " in text
