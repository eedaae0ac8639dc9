"""Fixtures of the observability tier live in obs_platform.py (importable by the tests)."""

from obs_platform import platform

__all__ = ["platform"]
