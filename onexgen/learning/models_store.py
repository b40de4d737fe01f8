"""Model versions in Postgres: save a trained model with its figures, load the newest.

Two kinds: ``mixins`` (``learning.mixins.model`` bytes) and ``patterns``
(``learning.patterns.persist`` bytes), both arrays and JSON read without pickle,
so a row can never run code in a worker. A ``patterns`` row that cannot be used
(the old pickle format, another scikit-learn series, damage) is skipped with a
warning and callers fall back to the shipped default detector. A worker loads
the newest of each kind at start; every full retrain adds a row, so the history of figures stays
queryable (``onexgen mixins eval --history``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from onexgen.learning.mixins.model import CompatibilityModel, from_bytes, to_bytes
from onexgen.learning.patterns.detector import PatternDetector
from onexgen.learning.patterns.errors import ModelFormatError
from onexgen.learning.patterns.persist import from_bytes as detector_from_bytes
from onexgen.learning.patterns.persist import to_bytes as detector_to_bytes
from onexgen.storage.repositories.models import ModelVersion, ModelVersionRepository

MIXINS_KIND = "mixins"
PATTERNS_KIND = "patterns"

log = structlog.get_logger("onexgen.learning.models")


@dataclass(frozen=True, slots=True)
class LoadedMixinModel:
    version: int
    model: CompatibilityModel
    metrics: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoadedDetector:
    version: int
    detector: PatternDetector
    metrics: dict[str, Any]


class ModelStore:
    """Typed save/load over ``model_versions``."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self.versions = ModelVersionRepository(pool)

    async def save_mixin_model(self, model: CompatibilityModel, *, metrics: dict[str, Any],
                               params: dict[str, Any] | None = None) -> int:
        config = {"config": _config_of(model), "examples_seen": model.examples_seen}
        return await self.versions.save(MIXINS_KIND, to_bytes(model),
                                        params={**config, **(params or {})}, metrics=metrics)

    async def latest_mixin_model(self) -> LoadedMixinModel | None:
        row = await self.versions.latest(MIXINS_KIND)
        return None if row is None else LoadedMixinModel(row.id, from_bytes(row.blob),
                                                         row.metrics)

    async def save_detector(self, detector: PatternDetector, *, metrics: dict[str, Any],
                            params: dict[str, Any] | None = None) -> int:
        return await self.versions.save(PATTERNS_KIND, detector_to_bytes(detector),
                                        params=params or {}, metrics=metrics)

    async def latest_detector(self) -> LoadedDetector | None:
        """The newest usable stored detector; ``None`` (use the shipped default) when there
        is none or the newest row is refused (logged as a warning naming the version)."""
        row = await self.versions.latest(PATTERNS_KIND)
        if row is None:
            return None
        try:
            detector = detector_from_bytes(row.blob)
        except ModelFormatError as exc:
            log.warning("pattern_model_version_refused", version=row.id, error=str(exc),
                        action="using the shipped default detector")
            return None
        return LoadedDetector(row.id, detector, row.metrics)

    async def history(self, kind: str = MIXINS_KIND, limit: int = 20) -> list[ModelVersion]:
        return await self.versions.history(kind, limit)


def _config_of(model: CompatibilityModel) -> dict[str, Any]:
    c = model.config
    return {"alpha": c.alpha, "epochs": c.epochs, "online_step": c.online_step,
            "online_epochs": c.online_epochs, "seed": c.seed,
            "catalogue_features": c.catalogue_features}
