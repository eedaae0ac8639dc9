"""Ports the gateway needs beyond the core ones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from euglena.ports import HealthCheck, StatusStore, TaskStore
from euglena.task import Task


class LiveStatusStore(StatusStore, Protocol):
    async def get_many(self, correlation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Task]: ...

    def scan(self, batch: int = ...) -> AsyncIterator[list[Task]]:
        """Every task the live store holds, a batch at a time."""
        ...


class ClosableTaskStore(TaskStore, HealthCheck, Protocol):
    async def close(self) -> None: ...


class TaskEvents(Protocol):
    def watch(self, correlation_id: uuid.UUID) -> AsyncIterator[Task | None]:
        """Yield each accepted write of the task; ``None`` on quiet intervals (re-check)."""
        ...


SyncObserver = Callable[[str], None]
"""Told the outcome of every Redis→Postgres sync: updated, persisted_terminal, created (a
finished task without a row), unchanged, degraded (Redis away: Postgres served alone)."""
