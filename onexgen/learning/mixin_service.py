"""The mixin model inside a worker: loaded at start, updated per batch, retrained behind.

Everything scikit-learn does runs in an executor, never on the event loop:
``update`` (``partial_fit``, a few ms) on a one-thread executor that also
serialises updates, and ``retrain`` (seconds) on another thread, on a snapshot,
after which the new model is installed between two updates and stored as a
new version with its held-out figures. ``predict`` scores a batch of
combinations in the executor too (microseconds each, but many at once add up).

Start-up (``open``): the base outcomes are real probes of random sets (about a
second), the feedback events come from ``mixin_feedback_events``, and the
model is the newest stored version, or one trained now and stored, so every
worker starts from the same figures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from onexgen.learning.mixins.catalogue import ComboKey
from onexgen.learning.mixins.data import Outcome, probe_outcomes, sample_combinations
from onexgen.learning.mixins.model import CompatibilityModel, ModelConfig
from onexgen.learning.mixins.online import (
    DEFAULT_RETRAIN_AFTER,
    OnlineLearner,
    Retrained,
    UpdateStats,
)
from onexgen.learning.mixins.online import retrain as retrain_model
from onexgen.learning.models_store import ModelStore
from onexgen.storage.repositories.models import MixinFeedbackEvent, MixinFeedbackRepository

log = structlog.get_logger("onexgen.learning.mixins")

BASE_PER_TYPE = 1500


def outcome_of(event: MixinFeedbackEvent) -> Outcome | None:
    """A stored feedback event as a training outcome (None when no mixin in it is known)."""
    from onexgen.learning.mixins.catalogue import combo_key

    node_type, mixins = combo_key(event.node_type, event.mixins)
    if not mixins:
        return None
    return Outcome(node_type, mixins, event.success, event.learning_weight, event.error or "")


class MixinLearningService:
    def __init__(self, learner: OnlineLearner, *, store: ModelStore | None = None,
                 version: int | None = None) -> None:
        self.learner = learner
        self.store = store
        self.version = version
        self._updates = ThreadPoolExecutor(1, thread_name_prefix="mixin-update")
        self._retrains = ThreadPoolExecutor(1, thread_name_prefix="mixin-retrain")
        self._lock = asyncio.Lock()
        self._retrain_task: asyncio.Task[None] | None = None
        self.retrains = 0

    @classmethod
    async def open(cls, store: ModelStore | None, feedback: MixinFeedbackRepository | None, *,
                   retrain_after: int = DEFAULT_RETRAIN_AFTER,
                   base_per_type: int = BASE_PER_TYPE) -> MixinLearningService:
        """Base probes, stored feedback and the newest stored model (or a new one, stored)."""
        loop = asyncio.get_running_loop()
        base = await loop.run_in_executor(
            None, lambda: probe_outcomes(sample_combinations(base_per_type, seed=0)))
        events = await feedback.all() if feedback is not None else []
        past = [o for o in map(outcome_of, events) if o is not None]
        loaded = await store.latest_mixin_model() if store is not None else None
        version: int | None = None
        if loaded is not None:
            model, version = loaded.model, loaded.version
        else:
            learner = OnlineLearner(CompatibilityModel(ModelConfig()), base=base)
            learner.feedback.extend(past)
            result = await loop.run_in_executor(None, retrain_model, learner.snapshot(),
                                                learner.model)
            model = result.model
            if store is not None:
                version = await store.save_mixin_model(model, metrics=result.metrics,
                                                       params={"reason": "first start"})
        learner = OnlineLearner(model, base=base, retrain_after=retrain_after)
        learner.feedback.extend(past)
        log.info("mixin_model_loaded", version=version, base_outcomes=len(base),
                 feedback_outcomes=len(past))
        return cls(learner, store=store, version=version)

    @property
    def model(self) -> CompatibilityModel:
        return self.learner.model

    async def predict(self, keys: Sequence[ComboKey]) -> npt.NDArray[np.float64]:
        model = self.learner.model
        return await asyncio.get_running_loop().run_in_executor(
            self._updates, model.predict_keys, list(keys))

    async def update(self, outcomes: Sequence[Outcome]) -> UpdateStats:
        """``partial_fit`` on a feedback batch (off the loop); may start a background retrain."""
        async with self._lock:
            stats = await asyncio.get_running_loop().run_in_executor(
                self._updates, self.learner.apply, list(outcomes))
        if self.learner.needs_retrain and self._retrain_task is None:
            self._retrain_task = asyncio.create_task(self._retrain(), name="mixin-retrain")
        return stats

    async def _retrain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            snapshot = self.learner.snapshot()
            result: Retrained = await loop.run_in_executor(
                self._retrains, retrain_model, snapshot, self.learner.model)
            async with self._lock:
                await loop.run_in_executor(self._updates, self.learner.install, result)
            self.retrains += 1
            if self.store is not None:
                self.version = await self.store.save_mixin_model(
                    result.model, metrics=result.metrics, params={"reason": "retrain"})
            log.info("mixin_model_retrained", version=self.version,
                     seconds=round(result.seconds, 3), **_flat(result.metrics))
        except Exception:  # a failed retrain keeps the current model; the next batch retries
            log.exception("mixin_model_retrain_failed")
        finally:
            self._retrain_task = None

    async def wait_for_retrain(self) -> None:
        """Let a running background retrain finish (tests, shutdown)."""
        task = self._retrain_task
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        task = self._retrain_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._updates.shutdown(wait=True)
        self._retrains.shutdown(wait=False, cancel_futures=True)


def _flat(metrics: dict[str, Any]) -> dict[str, Any]:
    held = metrics.get("held_out") or {}
    return {"held_out_accuracy": held.get("accuracy"), "brier": held.get("brier"),
            "feedback_outcomes": metrics.get("feedback_outcomes")}
