"""Benchmarks: commands that print ratios measured in one run (never timed test assertions)."""
