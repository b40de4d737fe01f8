"""Turning a request into the normalised text that rules and the model both read.

Why one normal form: whole-word matching only works on real tokens ("reset" is
one token, so the rule for "set" cannot fire inside it), snake_case operation
names must become words ("get_user_by_id" -> "get user by id"), and negation must
be visible to both the rules and the model. A token inside a negation scope
("does not cache anything") is written ``not_cache``: the rule for "cache" no
longer matches it and the model sees a different feature. A negation scope runs
from the cue to the end of its clause (``. ; : ! ? ( )`` or "but"); commas do not
end it, so "does not convert, validate or store anything" negates all three verbs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from onexgen.models.wire import GenerationRequest

NEGATION_CUES = frozenset({"not", "no", "never", "without", "nothing", "nor", "neither",
                           "none", "cannot"})
_NOT_NEGATING_NEXT = frozenset({"only", "longer", "later", "matter"})
_CLAUSE_SPLIT = re.compile(r"[.;:!?()\n]+|\bbut\b")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TOKEN = re.compile(r"[a-z0-9]+")
_CONTRACTIONS = (
    (re.compile(r"\b(can)'t\b"), r"\1 not"), (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"), (re.compile(r"'s\b"), ""),
)
_EMAIL = re.compile(r"\be-mail", re.IGNORECASE)
_NUMBER_SEP = re.compile(r"(?<=\d)[,.](?=\d)")


def clauses_of(text: str) -> list[str]:
    """Split free text into clauses (negation never crosses a clause boundary).

    Each rewrite runs only when the text holds a character its pattern needs (an
    upper-case letter, a hyphen, a comma or full stop, an apostrophe): most texts need
    few of them, and the checks halve the cost (a test compares with every pass run).
    """
    if text != text.lower():
        text = _CAMEL.sub(" ", text)
    if "-" in text:
        text = _EMAIL.sub("email", text)
    text = text.lower()
    if "," in text or "." in text:
        text = _NUMBER_SEP.sub("", text)
    if "'" in text:
        for pattern, repl in _CONTRACTIONS:
            text = pattern.sub(repl, text)
    return [c for c in _CLAUSE_SPLIT.split(text) if c.strip()]


def mark_negation(tokens: Iterable[str]) -> list[str]:
    """Prefix every token after a negation cue in the same clause with ``not_``."""
    out: list[str] = []
    negated = False
    pending_cue = False
    for token in tokens:
        if pending_cue:
            pending_cue = False
            negated = token not in _NOT_NEGATING_NEXT
        if token in NEGATION_CUES:
            out.append(token)
            pending_cue = True
            continue
        out.append(f"not_{token}" if negated else token)
    return out


def normalise_clause(clause: str) -> str:
    return " ".join(mark_negation(_TOKEN.findall(clause)))


def request_segments(request: GenerationRequest) -> list[str]:
    """Description clauses, then one clause per operation: ``name words description``."""
    segments = [normalise_clause(c) for c in clauses_of(request.description)]
    for op in request.operations:
        words = op.name.replace("_", " ")
        segments.extend(normalise_clause(c) for c in clauses_of(f"{words} {op.description}"))
    return [s for s in segments if s]


def name_words(request: GenerationRequest) -> str:
    """The node's name as words (``NightlyInvoiceBatcher`` -> ``nightly invoice batcher``).

    Why: writers often put the component's role there and nowhere else; the model reads
    it (measured by leave-one-writer-out cross-validation, BENCHMARKS.md), the rules do
    not (searching every phrase over it too cost ~17 µs a request for no measured gain).
    """
    return " ".join(_TOKEN.findall(_CAMEL.sub(" ", request.name).lower()))


def request_text(request: GenerationRequest) -> str:
    """The normal form: clauses joined by `` . `` (regexes never match across one)."""
    return " . ".join(request_segments(request))
