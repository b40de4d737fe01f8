"""Learning from outcomes: pattern matching (``learning.patterns``) and its metrics.

``learning.scoring`` holds the classification metrics shared by every model here
(precision, recall, false-positive rate, F1), so that the CLI, the benchmarks and
the alert rules all compute them the same way.
"""
