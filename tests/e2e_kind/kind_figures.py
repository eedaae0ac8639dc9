"""Measurements of a kind run (sizes, times, counts), printed in pytest's terminal summary."""

from __future__ import annotations


class Figures:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def record(self, name: str, value: str) -> None:
        self.rows.append((name, value))


FIGURES = Figures()
