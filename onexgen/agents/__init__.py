"""Faust agents: thin wiring from topics to the pipeline and services."""
