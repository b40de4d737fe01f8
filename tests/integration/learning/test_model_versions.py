"""Model versions in Postgres: first start trains and stores, later starts load; retrains add."""

from __future__ import annotations

import pytest

from onexgen.learning.mixin_service import MixinLearningService
from onexgen.learning.mixins.data import Outcome
from onexgen.learning.mixins.model import to_bytes
from onexgen.learning.models_store import ModelStore
from onexgen.storage.pool import Database
from onexgen.storage.repositories.models import MixinFeedbackEvent, MixinFeedbackRepository

pytestmark = pytest.mark.integration


async def test_open_first_start_stores_version_second_start_loads_it(db: Database) -> None:
    store = ModelStore(db.pool)
    events = MixinFeedbackRepository(db.pool)
    first = await MixinLearningService.open(store, events, base_per_type=150)
    try:
        stored = await store.latest_mixin_model()
        assert stored is not None and stored.version == first.version
        assert stored.metrics["held_out"]["accuracy"] >= 0.95
        assert to_bytes(stored.model) == to_bytes(first.model)
    finally:
        await first.close()
    second = await MixinLearningService.open(store, events, base_per_type=150)
    try:
        assert second.version == first.version
    finally:
        await second.close()


async def test_update_past_threshold_retrains_in_background_and_stores_version(
        db: Database) -> None:
    store = ModelStore(db.pool)
    repo = MixinFeedbackRepository(db.pool)
    new = await repo.record_many([MixinFeedbackEvent(
        event_key="fb:0:1", node_type="effect", mixins=["Caching", "Timeout"], success=False,
        source="user", learning_weight=1.0)])
    assert new == {"fb:0:1"} and await repo.record_many([MixinFeedbackEvent(
        event_key="fb:0:1", node_type="effect", mixins=["Caching", "Timeout"], success=False,
        source="user", learning_weight=1.0)]) == set()
    service = await MixinLearningService.open(store, repo, retrain_after=3, base_per_type=150)
    first = service.version
    try:
        assert len(service.learner.feedback) == 1  # the stored event was loaded
        await service.update([Outcome("effect", ("Caching", "Timeout"), False, 1.0)] * 3)
        await service.wait_for_retrain()
        assert service.retrains == 1 and service.version is not None
        assert first is not None and service.version > first
        history = await store.history()
        assert [v.id for v in history][:2] == [service.version, first]
        assert history[0].params["reason"] == "retrain"
        assert history[0].metrics["feedback_outcomes"] == 4
    finally:
        await service.close()


async def test_record_many_refuses_weight_that_disagrees_with_source(db: Database) -> None:
    from onexgen.storage.errors import ConstraintViolation

    with pytest.raises(ConstraintViolation):
        await MixinFeedbackRepository(db.pool).record_many([MixinFeedbackEvent(
            event_key="fb:0:2", node_type="effect", mixins=["Retry"], success=True,
            source="user", learning_weight=0.5)])
