"""Benchmarks: each prints its figures and its ratio against the physical limit."""
