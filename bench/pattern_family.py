"""A family of phrasings the shipped detector misses, for the feedback-loop benchmark.

The family: batch processing described only through the word "tranche" ("moves
invoices over to the bank tranche by tranche"), a word no training request uses.
Corrections are written with one set of record nouns and target systems, the
fresh sentences they are measured on with another, so recall on the fresh ones
is learning of the phrasing, not of the sentences; node names are disjoint too (the
detector reads the name since the leave-one-writer-out work: one shared name,
"TrancheMover", let it learn the name instead, 99.5% fresh recall after 25
corrections). The templates were chosen so
the shipped detector misses them (checked, and reported, by the benchmark);
templates that already fire ("in tranches of 100", "at a time") were dropped.

A second family, ``PLAIN``, checks that the per-feature steps do not only reward new
words: validation described in words every request uses ("turns away", "add up",
"make sense"), chosen so the shipped detector misses them.
"""

from __future__ import annotations

import random

from onexgen.models.wire import (
    FeedbackSource,
    GenerationRequest,
    PatternFeedback,
    PatternFeedbackType,
)

FAMILY_PATTERN = "batch_processing"
PLAIN_PATTERN = "validation"
PLAIN_TEMPLATES = (
    "Turns away {n} whose totals do not add up before {s} sees them.",
    "Sends back any of the {n} that break the house rules, with the rule it broke, "
    "before {s} gets them.",
    "Lets through to {s} only the {n} whose dates and amounts make sense.",
    "Stops {n} with a missing owner or a negative amount from reaching {s}.",
    "Looks over each of the {n} and bounces the ones {s} would choke on.",
)
TEMPLATES = (
    "Moves {n} over to {s} tranche by tranche.",
    "Pushes {n} to {s} in tranches, {k} per tranche.",
    "Hands {n} to {s} tranche after tranche.",
    "Forwards every tranche of pending {n} to {s}.",
    "Clears the {n} backlog by sending {s} one tranche per round.",
    "Sends {s} the {n} in tranches sized by the {s} quota.",
)
CORRECTION_NOUNS = ("invoices", "shipments", "ledger lines", "claims", "meter readings",
                    "payslips", "tickets", "orders", "refunds", "bookings")
CORRECTION_SYSTEMS = ("the tax API", "the archive", "the warehouse system", "the bank",
                      "the CRM")
FRESH_NOUNS = ("lab results", "parcels", "insurance quotes", "gift cards", "sensor logs",
               "subscriptions", "timesheets", "loan files", "coupons", "tax forms")
FRESH_SYSTEMS = ("the carrier portal", "the billing engine", "the data lake",
                 "the partner gateway", "the print service")
CORRECTION_NAMES = ("Mover", "Shipper", "Courier", "Hauler")
FRESH_NAMES = ("Conveyor", "Porter", "Carrier", "Runner")


def family(count: int, *, fresh: bool, seed: int,
           templates: tuple[str, ...] = TEMPLATES) -> list[GenerationRequest]:
    """``count`` requests of the family: correction vocabulary, or the disjoint fresh one."""
    nouns, systems, names = ((FRESH_NOUNS, FRESH_SYSTEMS, FRESH_NAMES) if fresh
                             else (CORRECTION_NOUNS, CORRECTION_SYSTEMS, CORRECTION_NAMES))
    rng = random.Random(seed)
    prefix = "fresh" if fresh else "fix"
    return [GenerationRequest(
        request_id=f"family-{prefix}-{seed}-{i}", node_type="effect", name=rng.choice(names),
        domain="operations", operations=[],
        description=rng.choice(templates).format(n=rng.choice(nouns), s=rng.choice(systems),
                                                 k=rng.choice((50, 100, 250, 500, 1000))))
        for i in range(count)]


def corrections(requests: list[GenerationRequest], confidences: list[float],
                pattern: str = FAMILY_PATTERN) -> list[PatternFeedback]:
    """The user's verdict on each missed request: ``adjusted``, actual = the family pattern."""
    return [PatternFeedback(request_id=r.request_id, pattern_name=pattern,
                            detected_confidence=c, feedback_type=PatternFeedbackType.ADJUSTED,
                            actual_pattern=pattern, source=FeedbackSource.USER)
            for r, c in zip(requests, confidences, strict=True)]
