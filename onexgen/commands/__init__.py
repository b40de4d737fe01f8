"""Implementations of the CLI's commands, one module each."""
