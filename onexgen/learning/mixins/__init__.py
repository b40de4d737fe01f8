"""Mixin compatibility: will this node type work with this *set* of mixins?

    catalogue   canonical sets and the buildable order; node-type spelling
    data        outcomes from real checks (in-process probe, subprocess sample)
                and feedback events; split by combination
    features    catalogue- and membership-based feature rows (never the label)
    model       CompatibilityModel: calibrated logistic model, fit / partial_fit,
                safe bytes (arrays + JSON, no pickle)
    online      OnlineLearner (partial_fit with replay) and the pure retrain
    (the model in a worker, with its stored versions: ``learning.mixin_service``)
    explain     blame by ablation, suggestions verified by a real probe
    gate        assess(): the codegen job's accept / reject / auto-resolve decision
    evaluate    held-out accuracy, incompatible precision/recall, Brier, ECE
    curve       learning curve against feedback events
    errors      MixinLearningError and its subclasses
"""

from onexgen.learning.mixins.catalogue import MIXIN_NAMES, canonical_order, combo_key
from onexgen.learning.mixins.data import Outcome, probe_outcomes, sample_combinations
from onexgen.learning.mixins.errors import (
    MixinLearningError,
    ModelFormatError,
    TrainingDataError,
    UnknownNodeTypeError,
)
from onexgen.learning.mixins.explain import Explanation, Suggestion, explain
from onexgen.learning.mixins.gate import (
    Assessment,
    MixinPolicy,
    assess,
    current_model,
    install_model,
)
from onexgen.learning.mixins.model import CompatibilityModel, ModelConfig, from_bytes, to_bytes
from onexgen.learning.mixins.online import OnlineLearner

__all__ = [
    "MIXIN_NAMES", "Assessment", "CompatibilityModel", "Explanation", "MixinLearningError",
    "MixinPolicy", "ModelConfig", "ModelFormatError", "OnlineLearner", "Outcome",
    "Suggestion", "TrainingDataError", "UnknownNodeTypeError", "assess", "canonical_order",
    "combo_key", "current_model", "explain", "from_bytes", "install_model", "probe_outcomes",
    "sample_combinations", "to_bytes",
]
