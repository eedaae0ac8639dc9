"""Task status and the rules for moving between statuses.

``pending → accepted → started → in_progress → completed | failed | cancelled``

Statuses only move forward, any non-terminal status may jump to a terminal one, and a terminal
status is final. ``in_progress → in_progress`` is allowed: it is how per-tick progress is
reported (the writer must still present a newer ``updated_at``).
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    STARTED = "started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def rank(self) -> int:
        return _RANK[self]


TERMINAL_STATUSES: frozenset[TaskStatus] = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}
)

_RANK: dict[TaskStatus, int] = {
    TaskStatus.PENDING: 0,
    TaskStatus.ACCEPTED: 1,
    TaskStatus.STARTED: 2,
    TaskStatus.IN_PROGRESS: 3,
    TaskStatus.COMPLETED: 4,
    TaskStatus.FAILED: 4,
    TaskStatus.CANCELLED: 4,
}


def can_transition(current: TaskStatus, new: TaskStatus) -> bool:
    """Whether a task in ``current`` may move to ``new``.

    Terminal is final (not even the same terminal status is rewritten); otherwise the status
    may stay (progress updates) or move forward.
    """
    if current.is_terminal:
        return False
    return new.rank >= current.rank


def status_ranks() -> dict[str, int]:
    """Status name → rank, for writers that enforce the rules outside Python (Lua, SQL)."""
    return {status.value: rank for status, rank in _RANK.items()}
