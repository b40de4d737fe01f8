"""Whole words, negation and sense rules: the decoys of issue 5 item 7 do not count."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onexgen.learning.patterns.dataset import TRAIN_PATH
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.library import PATTERN_NAMES
from onexgen.learning.patterns.rules import crud_kinds, rule_scores
from onexgen.learning.patterns.text import request_text
from tests.unit.learning.conftest import make_request

SPLITS = {"train.jsonl": TRAIN_PATH,
          "test.jsonl": Path(__file__).resolve().parents[3] / "data" / "patterns" / "test.jsonl"}


def names(detector: PatternDetector, description: str,
          ops: list[tuple[str, str]] | None = None) -> set[str]:
    return {d.name for d in detector.detect(make_request(description, ops))}


@pytest.mark.parametrize(("description", "pattern"), [
    ("Resets a user's password.", "crud"),
    ("Returns the seat map of an event venue.", "event_publishing"),
    ("Looks up a vial by its batch number.", "batch_processing"),
    ("Parses the query string of a URL into a dict.", "query"),
    ("Fetches the live price from the exchange. It does not cache anything.", "caching"),
    ("Reads messages from a Kafka topic and logs them.", "event_publishing"),
    ("Fetches one order by its id.", "query"),
    ("Receives incoming webhooks from GitHub and stores each delivery.", "notification"),
    ("Appends entries to the audit table.", "crud"),
])
def test_detect_decoy_word_in_another_sense_not_detected(
        trained: PatternDetector, description: str, pattern: str) -> None:
    assert pattern not in names(trained, description)


def test_detect_saga_undo_steps_orchestration_not_resilience(trained: PatternDetector) -> None:
    found = names(trained, "Runs the undo step of every completed saga step when a later "
                           "step fails.")
    assert "orchestration" in found
    assert "resilience" not in found


@pytest.mark.parametrize(("description", "pattern"), [
    ("Creates, updates and deletes customer records.", "crud"),
    ("Publishes an OrderPlaced event to Kafka.", "event_publishing"),
    ("Imports supplier rows in batches of 500.", "batch_processing"),
    ("Caches exchange rates for five minutes.", "caching"),
    ("Calls the gateway with retries and exponential backoff.", "resilience"),
    ("Sends a welcome e-mail to new users.", "notification"),
    ("Runs every night at 2am and removes temp files.", "scheduling"),
    ("Searches products by name, sorted by price, paginated.", "query"),
])
def test_detect_plain_statement_detects_pattern(
        trained: PatternDetector, description: str, pattern: str) -> None:
    assert pattern in names(trained, description)


def test_rules_reset_contains_set_no_update_kind() -> None:
    text = request_text(make_request("Resets the counter kept at the given address."))
    assert crud_kinds(text) == frozenset()


def test_rules_upsert_counts_as_create_and_update() -> None:
    text = request_text(make_request("Upserts customer records by external id."))
    assert crud_kinds(text) == {"create", "update"}
    assert rule_scores(text)[PATTERN_NAMES.index("crud")] >= 0.7


def test_text_negation_scope_marks_words_until_clause_end() -> None:
    text = request_text(make_request("It does not convert, validate or store anything. "
                                     "It retries."))
    assert "not_convert not_validate" in text
    assert "not_store" in text
    assert " retries" in text and "not_retries" not in text


def test_text_operation_names_split_into_words() -> None:
    text = request_text(make_request("", [("get_user_by_id", "fetch the user")]))
    assert text == "get user by id fetch the user"


def test_name_words_camel_case_name_split_into_lower_case_words() -> None:
    from onexgen.learning.patterns.text import name_words

    request = make_request("Keeps notes.").model_copy(update={"name": "NightlyCSVBatcher2"})
    assert name_words(request) == "nightly csvbatcher2"


def test_rule_scores_with_the_per_pattern_prefilter_equal_every_phrase_searched() -> None:

    import numpy as np

    from onexgen.learning.patterns import rules
    from onexgen.learning.patterns.dataset import parse_request

    def unfiltered(text: str) -> np.ndarray:
        out = np.zeros(len(PATTERN_NAMES))
        out[PATTERN_NAMES.index("crud")] = rules.crud_score(text)
        for name, phrases in rules._COMPILED.items():
            for rx, score in phrases:
                if rx.search(text):
                    out[PATTERN_NAMES.index(name)] = max(out[PATTERN_NAMES.index(name)], score)
        return out

    texts = [request_text(parse_request(line))
             for f in ("train.jsonl", "test.jsonl") for line in SPLITS[f].read_text().splitlines()
             if line.strip()]
    assert len(texts) > 400
    fired = 0
    for text in texts:
        got = rule_scores(text)
        assert got.tolist() == unfiltered(text).tolist(), text
        fired += int((got > 0).sum())
    assert fired > len(texts)  # the phrases do fire: the comparison is not between zeros


def _clauses_every_pass(text: str) -> list[str]:
    """``clauses_of`` as it was: every rewrite run, needed or not."""
    from onexgen.learning.patterns import text as t

    text = t._EMAIL.sub("email", t._CAMEL.sub(" ", text)).lower()
    text = t._NUMBER_SEP.sub("", text)
    for pattern, repl in t._CONTRACTIONS:
        text = pattern.sub(repl, text)
    return [c for c in t._CLAUSE_SPLIT.split(text) if c.strip()]


_PIECES = ["CamelCase", "e-mail", "E-Mail", "1,000.5", "can't", "won't", "isn't", "it's",
           "İstanbul", "déjà-vu", "ÀB", "x'y", "a.b", " ", ".", "not", "but", "Get_User"]


@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=10))
def test_clauses_skip_only_rewrites_that_could_not_match(pieces: list[str]) -> None:
    from onexgen.learning.patterns.text import clauses_of

    text = " ".join(pieces)
    assert clauses_of(text) == _clauses_every_pass(text)


def test_clauses_of_the_labelled_set_equal_every_pass_run() -> None:

    from onexgen.learning.patterns.dataset import parse_request
    from onexgen.learning.patterns.text import clauses_of

    for line in TRAIN_PATH.read_text().splitlines():
        if line.strip():
            request = parse_request(line)
            for text in [request.description, *(f"{o.name} {o.description}"
                                                for o in request.operations)]:
                assert clauses_of(text) == _clauses_every_pass(text)
