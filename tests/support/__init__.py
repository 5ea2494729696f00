"""Helpers the tests and benchmarks share (not tests themselves)."""
