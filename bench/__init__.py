"""Benchmarks behind ``make bench``: each prints a table and writes JSON."""
