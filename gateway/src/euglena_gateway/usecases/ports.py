"""Ports the gateway needs beyond the core ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from euglena.ports import HealthCheck, StatusStore, TaskStore
from euglena.task import Task


class LiveStatusStore(StatusStore, Protocol):
    async def get_many(self, correlation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Task]: ...

    def scan(self, batch: int = ...) -> AsyncIterator[list[Task]]:
        """Every task the live store holds, a batch at a time."""
        ...


class QueueLedger(Protocol):
    """Which recorded tasks the broker confirmed (the outbox, in the task rows)."""

    async def mark_queued(self, correlation_ids: Sequence[uuid.UUID]) -> None:
        """Record that the broker confirmed these tasks' messages."""
        ...

    async def claim_unqueued(self, *, older_than: float, limit: int) -> list[Task]:
        """Pending tasks recorded more than ``older_than`` seconds ago whose message was never
        confirmed, oldest first; each is claimed for ``older_than`` seconds, so several
        gateway replicas never take the same task at once."""
        ...

    async def open_tasks(self, *, after: uuid.UUID, fresh_within: float, limit: int) -> list[Task]:
        """Open, queued tasks Redis must hold a live copy of (claimed by a worker, or written
        less than ``fresh_within`` seconds ago), by correlation id after ``after``."""
        ...


class RecordStore(TaskStore, QueueLedger, Protocol):
    """The gateway's Postgres: the tasks, their quotas and their outbox."""


class ClosableTaskStore(RecordStore, HealthCheck, Protocol):
    async def close(self) -> None: ...


class TaskEvents(Protocol):
    def watch(self, correlation_id: uuid.UUID) -> AsyncIterator[Task | None]:
        """Yield each accepted write of the task; ``None`` on quiet intervals (re-check)."""
        ...


SyncObserver = Callable[[str], None]
"""Told the outcome of every Redis→Postgres sync: updated, persisted_terminal, created (a
finished task without a row), unchanged, degraded (Redis away: Postgres served alone)."""
