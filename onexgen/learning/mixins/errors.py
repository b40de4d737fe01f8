"""Errors of the mixin-compatibility model, under one root.

    MixinLearningError            root: anything this package refuses
    ├── UnknownNodeTypeError      a node type outside effect/compute/reducer/orchestrator
    ├── ModelFormatError          stored model bytes this version cannot read (retrain)
    └── TrainingDataError         too little or one-sided data to fit a model

Each message names the fix, so the CLI can print it as is.
"""

from __future__ import annotations


class MixinLearningError(Exception):
    """Root of the errors raised by ``learning.mixins``."""


class UnknownNodeTypeError(MixinLearningError, ValueError):
    """A node type the runtime does not know."""


class ModelFormatError(MixinLearningError):
    """Model bytes that are not a compatibility model of this format version."""


class TrainingDataError(MixinLearningError):
    """Not enough (or only one class of) outcomes to train on."""
