"""The feedback batch handler against real Kafka and Postgres: writes, DLQ, models, replay."""

from __future__ import annotations

import orjson
import pytest

from onexgen.learning.mixin_service import MixinLearningService
from onexgen.learning.mixins.model import CompatibilityModel
from onexgen.learning.mixins.online import OnlineLearner
from onexgen.learning.models_store import ModelStore
from onexgen.learning.patterns.persist import copy_of
from onexgen.learning.patterns.training import default_detector
from onexgen.learning.processor import (
    DeferredPatternUpdater,
    FeedbackProcessor,
    PatternUpdater,
    remember_requests,
)
from onexgen.settings import Settings
from onexgen.storage.pool import Database
from onexgen.streams.dead_letter import X_ERROR_TYPE, X_ORIGIN_OFFSET
from onexgen.streams.publisher import Publisher
from tests.harness.kafka import collect, header, produce
from tests.integration.learning.conftest import as_inbound

pytestmark = pytest.mark.integration

REQUEST = {"request_id": "req-cache-1", "node_type": "effect", "name": "PriceLookup",
           "domain": "pricing", "description": "Look up prices and keep results in a cache "
           "for five minutes to avoid refetching from the upstream API.",
           "operations": [{"name": "lookup"}], "mixins": ["Caching"]}
PATTERN = {"kind": "pattern", "request_id": "req-cache-1", "pattern_name": "caching",
           "detected_confidence": 0.4, "feedback_type": "adjusted", "actual_pattern": "caching",
           "source": "user"}
MIXIN_FAIL = {"kind": "mixin", "node_type": "effect", "mixins": ["Timeout", "Caching"],
              "success": False, "error": "timeouts left stale cache entries", "source": "user"}
MIXIN_OK = {"kind": "mixin", "node_type": "reducer", "mixins": ["Retry", "Metrics"],
            "success": True, "source": "automated"}
BAD_JSON = b'{"kind": "mixin", '
BAD_SCHEMA = orjson.dumps({"kind": "pattern", "request_id": "x", "pattern_name": "crud",
                           "detected_confidence": 7, "feedback_type": "correct"})


async def _batch(settings: Settings) -> list[object]:
    values = [orjson.dumps(PATTERN), orjson.dumps(MIXIN_FAIL), orjson.dumps(MIXIN_OK),
              BAD_JSON, BAD_SCHEMA]
    await produce(settings.kafka_bootstrap, settings.topics.feedback,
                  [(b"k", v, [("correlation-id", b"cid-feedback-test")]) for v in values])
    return await collect(settings.kafka_bootstrap, settings.topics.feedback,
                         until=lambda rs: len(rs) >= 5, timeout_s=30)


async def test_process_batch_writes_dead_letters_and_updates_models_once(
        settings: Settings, db: Database, publisher: Publisher,
        base_model: CompatibilityModel) -> None:
    await remember_requests(db, [("req-cache-1", orjson.dumps(REQUEST))])
    mixins = MixinLearningService(OnlineLearner(base_model.copy()))
    patterns = PatternUpdater(copy_of(default_detector()))
    processor = FeedbackProcessor(database=db, dlq_topic=settings.topics.dlq,
                                  publish=publisher.publish, mixins=mixins, patterns=patterns)
    messages = [as_inbound(r) for r in await _batch(settings)]
    score_before = mixins.model.predict("effect", ["Caching", "Timeout"])
    try:
        report = await processor.process(messages)
        assert (report.dead_lettered, report.pattern_new, report.mixin_new) == (2, 1, 2)
        assert report.pattern_learned == 1 and report.pattern_without_request == 0
        assert 0 < report.mixin_update_ms < 1000 and report.pattern_update_ms > 0
        score_after = mixins.model.predict("effect", ["Caching", "Timeout"])
        assert score_after < score_before

        pool = db.pool
        row = await pool.fetchrow("SELECT * FROM pattern_feedback_log")
        assert row is not None and row["feedback_key"] == messages[0].origin
        assert row["learning_weight"] == 1.0
        pair = await pool.fetchrow("SELECT * FROM mixin_compatibility_matrix "
                                   "WHERE node_type = 'effect'")
        assert pair is not None
        assert (pair["mixin_a"], pair["mixin_b"]) == ("Caching", "Timeout")
        assert (pair["failure_count"], pair["success_count"]) == (1, 0)
        assert pair["conflict_reason"] == "timeouts left stale cache entries"
        weights = await pool.fetch("SELECT source, learning_weight FROM mixin_feedback_events "
                                   "ORDER BY id")
        assert [(r["source"], r["learning_weight"]) for r in weights] == [
            ("user", 1.0), ("automated", 0.5)]

        dlq = await collect(settings.kafka_bootstrap, settings.topics.dlq,
                            until=lambda rs: len(rs) >= 2, timeout_s=30)
        assert [r.value for r in dlq] == [BAD_JSON, BAD_SCHEMA]
        assert [header(r, X_ERROR_TYPE) for r in dlq] == [b"invalid_json", b"schema_violation"]
        assert header(dlq[0], X_ORIGIN_OFFSET) == str(messages[3].offset).encode()

        again = await processor.process(messages)  # redelivery after a crash before the ack
        assert (again.pattern_new, again.mixin_new, again.pattern_learned) == (0, 0, 0)
        assert mixins.model.predict("effect", ["Caching", "Timeout"]) == score_after
        assert await pool.fetchval("SELECT count(*) FROM pattern_feedback_log") == 1
        assert await pool.fetchval("SELECT failure_count FROM mixin_compatibility_matrix "
                                   "WHERE node_type = 'effect'") == 1
    finally:
        await mixins.close()
        patterns.close()


async def test_pattern_feedback_for_unknown_request_stored_but_not_learned(
        settings: Settings, db: Database, publisher: Publisher) -> None:
    patterns = PatternUpdater(copy_of(default_detector()))
    processor = FeedbackProcessor(database=db, dlq_topic=settings.topics.dlq,
                                  publish=publisher.publish, mixins=None, patterns=patterns)
    event = {**PATTERN, "request_id": "never-seen"}
    await produce(settings.kafka_bootstrap, settings.topics.feedback,
                  [(None, orjson.dumps(event), [])])
    records = await collect(settings.kafka_bootstrap, settings.topics.feedback,
                            until=lambda rs: len(rs) >= 1, timeout_s=30)
    try:
        report = await processor.process([as_inbound(r) for r in records])
        assert report.pattern_new == 1 and report.pattern_without_request == 1
        assert report.pattern_learned == 0
        assert await db.pool.fetchval("SELECT count(*) FROM pattern_feedback_log") == 1
    finally:
        patterns.close()


async def test_deferred_pattern_updater_opens_with_first_pattern_verdict_and_learns(
        settings: Settings, db: Database, publisher: Publisher) -> None:
    await remember_requests(db, [("req-cache-1", orjson.dumps(REQUEST))])
    patterns = DeferredPatternUpdater(ModelStore(db.pool))
    processor = FeedbackProcessor(database=db, dlq_topic=settings.topics.dlq,
                                  publish=publisher.publish, mixins=None, patterns=patterns)
    await produce(settings.kafka_bootstrap, settings.topics.feedback,
                  [(None, orjson.dumps(MIXIN_OK), []), (None, orjson.dumps(PATTERN), [])])
    records = await collect(settings.kafka_bootstrap, settings.topics.feedback,
                            until=lambda rs: len(rs) >= 2, timeout_s=30)
    mixin_only, with_pattern = [as_inbound(records[0])], [as_inbound(records[1])]
    try:
        await processor.process(mixin_only)
        assert patterns.updater is None  # no pattern verdict yet: nothing loaded
        report = await processor.process(with_pattern)
        assert patterns.updater is not None
        assert report.pattern_learned == 1 and report.pattern_update_ms > 0
        opened = patterns.updater
        await processor.process(with_pattern)  # a replay: stored once, learned once
        assert patterns.updater is opened
    finally:
        patterns.close()
