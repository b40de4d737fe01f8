"""Whole-word and phrase rules: per pattern, a score 0..1 from the normalised text.

Why rules at all when there is a learned model: they encode the definitions
(issue 5, item 7) including the sense rules, work from the first request, and
give the model strong features to start from. They run on the normal form of
``learning.patterns.text``, so every ``\\b`` is a real word boundary (no "set" in
"reset") and negated words (``not_cache``) never match. Sense rules are
lookaheads on the phrase: a *batch number*, a *query string*, an event *venue*,
a *sort code*, a *circuit breaker* in an electrical panel do not count.

A pattern's rule score is the highest score among its phrases that match; crud
is counted instead: it needs two different kinds of create/read/update/delete.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from onexgen.learning.patterns.library import PATTERN_NAMES

_G = r"(?:\s+\S+)"  # one following word, for bounded gaps like {0,4}
_SINKS = (r"(?:topic|topics|bus|queue|exchange|kafka|stream|subject|pulsar|kinesis|sqs"
          r"|rabbitmq|nats)")

PHRASES: dict[str, list[tuple[str, float]]] = {
    "transformation": [
        (r"convert(?:s|ed|ing|er|s)?|transform(?:s|ed|ing|ation)?|reformat(?:s|ted)?", 0.9),
        (r"pars(?:e|es|ed|ing|er)|(?:de)?seriali[sz](?:e|es|ed|ing|ation|er)", 0.9),
        (r"normali[sz](?:e|es|ed|ing|ation|er)|render(?:s|ed|ing|er)?|flatten(?:s|ed|ing)?", 0.85),
        (r"(?:en|de)cod(?:e|es|ed|ing)|translat(?:e|es|ed|ing)" + _G + r"{0,6}\s+into", 0.8),
        (r"map(?:s|ped)?" + _G + r"{0,5}\s+(?:onto|into|to)|mapping|mapper", 0.85),
        (r"turns?" + _G + r"{0,8}\s+into|\w+ to (?:json|yaml|xml|csv|parquet|html|pdf|avro|"
         r"protobuf|geojson|text|camel|snake|env)", 0.8),
        (r"format(?:s|ted|ting)?|resiz(?:e|es|ed)|extract(?:s|ing)?|strips?", 0.5),
    ],
    "aggregation": [
        (r"sum(?:s|med|ming)?|aggregat(?:e|es|ed|ing|ion|or)|roll(?:s|ed)? \w+ up|roll(?:s|ed)? up"
         r"|rollups?|tall(?:y|ies|ied)|histograms?", 0.9),
        (r"count(?:s|ed|ing)?|average(?:s|d)?|mean|median|percentiles?|quartiles?"
         r"|standard deviation|statistics|stats|group(?:s|ed|ing)? \w* ?by|p50|p99", 0.85),
        (r"(?:sub|grand )?totals?(?! of one)|accumulat(?:e|es|ed|ing)|tall(?:y|ies)", 0.75),
        (r"running (?:total|balance|"
         r"count|mean)|distribution|min max|summar(?:y|ize|izes|ise|ises)|folds?", 0.6),
        (r"rank(?:s|ed|ing)?|per (?:minute|hour|day|month|quarter|region|tenant|category)", 0.3),
    ],
    "orchestration": [
        (r"orchestrat(?:e|es|ed|ing|ion|or)|sagas?|fan(?:s)? \w+ out|fans? (?:out|in)"
         r"|fan out|compensat(?:e|es|ed|ing|ion)", 0.95),
        (r"coordinat(?:e|es|ed|ing|ion)(?! (?:are|is|within))|in sequence"
         r"|sequenc(?:e|es|ed|ing)|dag|multi step", 0.85),
        (r"across" + _G + r"{0,8}\s+services|then" + _G + r"{0,5}\s+service|undo(?:es|ing)?", 0.7),
        (r"workflow|steps?|stages?|in order|rollback|pipeline|spanning|joins the results", 0.4),
    ],
    "event_publishing": [
        (r"(?:publish\w*|emit\w*|produc(?:e|es|ing)|broadcast\w*|raise[sd]?|relay\w*|forward\w*"
         r"|push\w*|puts?|dispatch\w*|(?<!re )enqueue\w*|streams?|sends?|writes?|flush\w*)"
         + _G + r"{0,10}?\s+(?:to|on|onto)\s+(?:\S+\s+){0,4}?" + _SINKS, 0.95),
        (r"(?:publish\w*|emit\w*|raise[sd]?|broadcast\w*)" + _G + r"{0,4}\s+\S*events?", 0.9),
        (r"(?<!re )enqueue[sd]?|outbox|publish(?:es|ed|ing)?|emit(?:s|ted|ting)?", 0.5),
    ],
    "caching": [
        (r"cach(?:e|es|ed|ing)(?! control)|memoi[sz](?:e|es|ed|ing|ation)|lru", 0.95),
        (r"read through|previously computed|remember(?:s|ed)?|(?:serves?|returns?) \w* ?from "
         r"(?:memory|cache)", 0.8),
        (r"ttl|reus(?:e|es|ed)", 0.65),
        (r"instead of (?:computing|requesting|fetching|rendering|regenerating)|avoids? re\w+", 0.6),
        (r"warm(?:s|ed)?|in memory", 0.3),
    ],
    "resilience": [
        (r"(?<!many )retr(?:y|ies|ied|ying)(?! (?:count|policy|policies|stats))|backoff|back off"
         r"|circuit breaker(?!\w* in)|bulkhead|fall(?:s)? back|fallback(?! (?:language|font))"
         r"|tries again|trips open|half opens?", 0.95),
        (r"timeouts?(?! (?:preference|value|setting))|times out|fails? fast|gives? up after"
         r"|deadline|shed(?:s)? load", 0.85),
        (r"tolerat(?:e|es)|outages?|degrad(?:e|es|ed)|reconnect(?:s|ed)?|flaky|unavailable"
         r"|is down|within \d+ ms|attempts|dead letter", 0.55),
    ],
    "validation": [
        (r"validat(?:e|es|ed|ing|ion|or)|lint(?:s|er)?|malformed|well formed|invalid", 0.9),
        (r"verif(?:y|ies|ying)|conform(?:s|ance)?|reject(?:s|ed|ing)?|violations?"
         r"|makes? sure|ensures?", 0.75),
        (r"checks?" + _G + r"{0,8}\s+(?:against|for|that)|checksum|check digit", 0.75),
        (r"reports? (?:errors|violations)|flags? (?:the|every|bad|invalid|mismatches|them|those)",
         0.8),
        (r"checks?|flags?(?! is)|rules|schema|refus(?:e|es|ed)|blocks?|sanitiz\w+|confirms?", 0.4),
    ],
    "batch_processing": [
        (r"batch(?:es|ed|ing)?(?! (?:number|id|no|code))|bulk(?! density)|chunk(?:s|ed)?", 0.9),
        (r"(?<!page )at a time|in pages of|slices? of", 0.8),
        (r"backfill\w*|per call|mass", 0.6),
    ],
    "query": [
        (r"search(?:es|ed|ing)?(?! (?:service|cluster|engine|documents|index))|paginat\w+"
         r"|paging|full text", 0.9),
        (r"filter(?:s|ed|ing)?(?! (?:cartridge|replacement))|sort(?:s|ed|ing)?(?! codes?)"
         r"|facets?|(?:ordered|ranked|sorted) by|next page|page by page", 0.85),
        (r"look(?:s|ed|ing)? up" + _G + r"{0,4}\s+by(?! (?:its |their )?(?:id|key|batch))"
         r"|finds?" + _G + r"{0,5}\s+(?:by|matching|within|near)|matching|criteria", 0.8),
        (r"(?<!slow )(?<!database )quer(?:y|ies|ying)(?! (?:string|param\w*))"
         r"|a page at a time", 0.8),
        (r"browses?|pages? through|autocomplete"
         r"|within a radius|starts? with|top n", 0.6),
    ],
    "notification": [
        (r"notif(?:y|ies|ied|ying|ication|ications)(?! (?:preferences|settings|services?))"
         r"|push notifications?|outgoing webhooks?|pages the|pagerduty", 0.9),
        (r"sends?" + _G + r"{0,4}\s+(?:emails?|sms|text|texts|push|notifications?|messages?"
         r"|reminders?|receipts?|link|digest|alerts?|phone call)", 0.9),
        (r"(?:emails?|emailed|mails?|mailed|texts?)\s+(?:the|each|every|them|a|an|it|to|their"
         r"|customers?|users?)|text message|sms(?! (?:delivery|receipts?|reports?))"
         r"|(?:gets?|receives?) an? (?:email|sms|text)", 0.85),
        (r"by (?:email|sms|slack|text)", 0.6),
        (r"slack|(?:microsoft|in) teams|posts?" + _G + r"{0,5}\s+(?:channel|message)"
         r"|callback to|lets?" + _G + r"{0,3}\s+know|webhook url"
         r"|delivers?" + _G + r"{0,3}\s+webhooks?", 0.8),
        (r"emails?|reminders?|announcements?", 0.35),
    ],
    "scheduling": [
        (r"cron(?! expressions?)|every (?:\d+|few|one|two|five|ten|fifteen|thirty|night|day"
         r"|hour|minute|week|month|monday|sunday|morning)|nightly|periodic(?:ally)?|scheduler"
         r"|on (?:a )?schedule"
         r"|once (?:an|a|per) \w+|at (?:midnight|noon|\d+ ?(?:am|pm))|first day of each", 0.9),
        (r"hourly(?! (?:counts?|totals?|rates?|buckets?))|at \d+", 0.75),
        (r"(?<!kitchen )timers?(?! (?:app|admin))|interval"
         r"|each (?:morning|monday|night|day|quarter|week)|wakes? up|delay(?:ed)?"
         r"|\d+ hours after", 0.75),
        (r"hourly|daily|weekly|scheduled", 0.45),
    ],
}

_KIND_WORDS = {
    "create": r"creat(?:e|es|ed|ing|ion)|add(?:s|ed|ing)?|insert(?:s|ed|ing)?|sav(?:e|es|ed|ing)"
              r"|stor(?:e|es|ed|ing)|persist(?:s|ed|ing)?|register(?:s|ing)?|put|puts|upload(?:s|ed)?"
              r"|open(?:s|ed)?|sign up|entered|writes? posts?",
    "read": r"read(?:s|ing)?|get|gets|fetch(?:es|ed|ing)?|retriev(?:e|es|ed|ing)|view(?:s|ing)?"
            r"|show(?:s)?|look(?:s)? (?:up|at)",
    "update": r"updat(?:e|es|ed|ing)|edit(?:s|ed|ing)?|modif(?:y|ies|ied|ying)|chang(?:e|es|ed|ing)"
              r"|amend(?:s|ed|ing)?|renam(?:e|es|ed|ing)|patch(?:es|ed|ing)?|revis(?:e|es|ed|ing)"
              r"|replac(?:e|es|ed|ing)|reschedul(?:e|es|ed|ing)|reassign(?:s|ed)?|mov(?:e|es|ed)"
              r"|complete",
    "delete": r"delet(?:e|es|ed|ing|ion)|remov(?:e|es|ed|ing)|eras(?:e|es|ed|ing)|purg(?:e|es|ed)"
              r"|drop(?:s|ped)?|retir(?:e|es|ed)|unregister(?:s|ed)?|deactivat(?:e|es|ed)"
              r"|cancel(?:s|led|ling)?|clos(?:e|es|ed)|written off|write off|scrap(?:s|ped)?",
}
_UPSERT = re.compile(r"\bupsert(?:s|ed|ing)?\b|\binsert or update\b")
_CRUD_LITERAL = re.compile(r"\bcrud\b|\bcreate read update (?:and )?delete\b")
_KINDS = {k: re.compile(rf"\b(?:{v})\b") for k, v in _KIND_WORDS.items()}
_COMPILED = {name: [(re.compile(rf"\b(?:{rx})\b"), score) for rx, score in phrases]
             for name, phrases in PHRASES.items()}
_INDEX = {name: i for i, name in enumerate(PATTERN_NAMES)}
_ANY = {name: re.compile("|".join(rf"\b(?:{rx})\b" for rx, _ in phrases))
        for name, phrases in PHRASES.items()}
"""Per pattern, one search that matches where any of its phrases would: most texts name
few patterns, and one failed search is cheaper than one per phrase (rule_scores halves)."""


def crud_kinds(text: str) -> frozenset[str]:
    """Which of create/read/update/delete the text names (an upsert is create + update)."""
    kinds = {kind for kind, rx in _KINDS.items() if rx.search(text)}
    if _UPSERT.search(text):
        kinds |= {"create", "update"}
    return frozenset(kinds)


def crud_score(text: str) -> float:
    if _CRUD_LITERAL.search(text):
        return 1.0
    return {0: 0.0, 1: 0.15, 2: 0.7}.get(len(crud_kinds(text)), 0.9)


def rule_scores(text: str, within: npt.NDArray[np.float64] | None = None
                ) -> npt.NDArray[np.float64]:
    """Per pattern (in ``PATTERN_NAMES`` order), the best matching phrase's score.

    ``within``: the scores of a text this one is a clause of. A phrase that matches in a
    clause matches in the text around it (clauses are joined by `` . ``, so no phrase
    spans two), so a pattern scoring 0 there is not searched here (a test compares both
    ways on every clause of the shipped requests): clause scoring's rules cost a third.
    """
    out = np.zeros(len(PATTERN_NAMES), dtype=np.float64)
    if within is None or within[_INDEX["crud"]] > 0:
        out[_INDEX["crud"]] = crud_score(text)
    for name, phrases in _COMPILED.items():
        if within is not None and within[_INDEX[name]] == 0:
            continue
        if not _ANY[name].search(text):
            continue
        for rx, score in phrases:
            if score > out[_INDEX[name]] and rx.search(text):
                out[_INDEX[name]] = score
    return out


def matched_phrases(text: str, pattern: str) -> list[str]:
    """The phrases that fired for ``pattern``, for explanations and debugging."""
    if pattern == "crud":
        return sorted(crud_kinds(text))
    return [m.group(0) for rx, _ in _COMPILED.get(pattern, []) for m in rx.finditer(text)]


_WORD_SCORES: dict[str, npt.NDArray[np.float64]] = {}
_NAME_SCORES: dict[str, npt.NDArray[np.float64]] = {}
_MAX_CACHED = 8_192


def name_rule_matrix(names: list[str]) -> npt.NDArray[np.float64]:
    """Per node name (as words), the best rule score of any one of its words, by pattern.

    Word by word, each word scored once per process: searching every phrase over a name
    as well as the text cost ~15 µs a request (regex calls have a fixed cost); names are
    a small vocabulary ("store", "scheduler", "validator"). A phrase spanning two name
    words does not fire here; the model reads the name's word pairs.
    """
    out = np.zeros((len(names), len(PATTERN_NAMES)), dtype=np.float64)
    for i, name in enumerate(names):
        scores = _NAME_SCORES.get(name)
        if scores is None:
            scores = np.zeros(len(PATTERN_NAMES), dtype=np.float64)
            for word in name.split():
                known = _WORD_SCORES.get(word)
                if known is None:
                    if len(_WORD_SCORES) >= _MAX_CACHED:
                        _WORD_SCORES.clear()
                    known = _WORD_SCORES[word] = rule_scores(word)
                np.maximum(scores, known, out=scores)
            if len(_NAME_SCORES) >= _MAX_CACHED:
                _NAME_SCORES.clear()  # names churn; the common ones come straight back
            _NAME_SCORES[name] = scores
        out[i] = scores
    return out
