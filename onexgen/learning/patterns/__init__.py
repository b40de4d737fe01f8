"""Pattern matching: which of the library's patterns a generation request asks for.

    text        request -> normalised text (whole words, negation marked)
    rules       phrase and sense rules -> a score per pattern
    features    hashed n-grams + text vector + rule scores -> model rows
    clauses     the texts scored (whole request, then each clause) and how they combine
    segments    detection's rows from each request's clauses and name, each read once
    embedding   static token vectors distilled from MiniLM (checked loader)
    wordpiece   BERT's uncased WordPiece tokenisation, without its library
    config      DetectorConfig: the recipe's knobs, stored with every model
    detector    PatternDetector: confidences, detection, learning, thresholds
    training    train_with_validation (the shipped recipe), train_detector (out-of-fold
                thresholds), default_detector (loads the shipped model)
    feedback    PatternFeedback -> weighted examples; FeedbackLearner
    evaluate    scores on labeled requests; the before/after-feedback experiment
    agreement   exact-set rate, Cohen's kappa against each annotator
    persist     to_bytes / from_bytes / save / load: arrays + JSON, never pickle
    weights     USER_WEIGHT 1.0, AUTOMATED_WEIGHT 0.5 (shared with storage)
"""

from onexgen.learning.patterns.config import DetectorConfig
from onexgen.learning.patterns.dataset import LabeledRequest, load_labeled
from onexgen.learning.patterns.detector import DetectedPattern, PatternDetector, TrainingExample
from onexgen.learning.patterns.errors import (
    DatasetError,
    ModelFormatError,
    PatternError,
    UnknownPatternError,
)
from onexgen.learning.patterns.feedback import (
    FeedbackLearner,
    examples_from_feedback,
    simulate_feedback,
)
from onexgen.learning.patterns.library import PATTERN_NAMES, PATTERNS, definition_of
from onexgen.learning.patterns.persist import from_bytes, load, save, to_bytes
from onexgen.learning.patterns.training import default_detector, train_detector
from onexgen.learning.patterns.weights import AUTOMATED_WEIGHT, USER_WEIGHT, weight_for

__all__ = [
    "AUTOMATED_WEIGHT", "PATTERNS", "PATTERN_NAMES", "USER_WEIGHT", "DatasetError",
    "DetectedPattern", "DetectorConfig", "FeedbackLearner", "LabeledRequest",
    "ModelFormatError", "PatternDetector", "PatternError", "TrainingExample",
    "UnknownPatternError", "default_detector", "definition_of", "examples_from_feedback",
    "from_bytes", "load", "load_labeled", "save", "simulate_feedback", "to_bytes",
    "train_detector", "weight_for",
]
