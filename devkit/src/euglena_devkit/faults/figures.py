"""Figures: what a fault scenario measured, printed as aligned lines (counts, seconds, KiB).

Every figure whose goal is 0 (lost, stuck, leaked, 5xx…) says so, and is printed whatever it
is; :meth:`Figures.failing` lists the ones that missed their goal (the fast versions in the
test tiers assert it is empty).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    label: str
    value: float | int | str
    unit: str = ""
    must_be_zero: bool = False

    def render(self) -> str:
        value = f"{self.value:.1f}" if isinstance(self.value, float) else str(self.value)
        goal = "   (goal 0)" if self.must_be_zero else ""
        miss = "  <-- not 0" if self.must_be_zero and self.value != 0 else ""
        return f"    {self.label:<50} {value:>10} {self.unit:<4}{goal}{miss}"


@dataclass
class Figures:
    scenario: str
    title: str
    rows: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, label: str, value: float | int | str, unit: str = "") -> None:
        self.rows.append(Figure(label, value, unit))

    def zero(self, label: str, value: int) -> None:
        """A figure whose goal is 0."""
        self.rows.append(Figure(label, value, must_be_zero=True))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def failing(self) -> list[str]:
        return [f"{f.label} = {f.value}" for f in self.rows if f.must_be_zero and f.value != 0]

    def __getitem__(self, label: str) -> float | int | str:
        return next(f.value for f in self.rows if f.label == label)

    def render(self) -> str:
        lines = [f"{self.scenario}  {self.title}"]
        lines += [f.render() for f in self.rows]
        lines += [f"    note: {n}" for n in self.notes]
        return "\n".join(lines)
