"""Ports: the small interfaces that storage and brokers sit behind.

Use-cases depend on these Protocols; adapters (Postgres, Supabase REST, Redis, RabbitMQ,
in-memory) implement them and are chosen only by a service's composition root.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from euglena.messages import TaskMessage
from euglena.task import Task
from euglena.workers import WorkerStatus


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of a compare-and-set write: whether it applied, and what is stored now."""

    applied: bool
    current: Task | None


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Task]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the user id and the JWT claims to run row-level-security reads under."""

    user_id: uuid.UUID
    claims: dict[str, object]
    token: str = field(default="", repr=False)


class StatusStore(Protocol):
    """The real-time copy of a task (Redis ``task:{id}``)."""

    async def get(self, correlation_id: uuid.UUID) -> Task | None: ...

    async def put(self, task: Task, *, create: bool = True) -> WriteResult:
        """Write ``task`` unless the stored copy is newer or terminal; refresh the TTL."""
        ...

    async def delete(self, correlation_id: uuid.UUID) -> None: ...


class TaskStore(Protocol):
    """The source of truth users see (Supabase Postgres ``tasks`` and ``profiles``)."""

    async def create(self, task: Task) -> tuple[Task, bool]:
        """Insert ``task`` if the owner's daily tick quota allows it.

        Returns the stored task and whether it was created now (False: the correlation id
        existed already). Raises QuotaExceeded or UnknownUser.
        """
        ...

    async def release(self, correlation_id: uuid.UUID) -> None:
        """Undo a creation whose task could not be queued, giving back the reserved ticks."""
        ...

    async def get(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        """Read one task; with a caller, only if row-level security lets the caller see it."""
        ...

    async def get_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]: ...

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page: ...

    async def apply(self, task: Task) -> bool:
        """Guarded update: write ``task`` only over an older, non-terminal row."""
        ...

    async def adopt(self, task: Task) -> bool:
        """Write a finished ``task`` that has no row yet ("creates if missing"), counting the
        ticks it spent against its owner's quota. False: a row exists, the task is not
        finished, or its owner does not exist."""
        ...


class HealthCheck(Protocol):
    async def ping(self) -> None:
        """Return when the dependency answers; raise otherwise."""
        ...


class TaskQueue(Protocol):
    async def publish(self, message: TaskMessage) -> None:
        """Publish persistently and wait for the broker's confirm.

        Raises DependencyUnavailable when the message is certainly not queued (not connected,
        refused by the broker), PublishUnconfirmed when it may be (sent, but no confirm)."""
        ...


class PresenceBoard(Protocol):
    """Where a worker announces itself (Redis ``worker:status:{id}`` + ``workers:status``)."""

    async def publish(self, status: WorkerStatus, *, ttl_seconds: float) -> None:
        """Store ``status``; it expires after ``ttl_seconds`` unless published again."""
        ...

    async def withdraw(self, worker_id: str) -> None: ...


class WorkerDirectory(Protocol):
    """Who is alive: the workers whose presence has not expired."""

    async def live_workers(self) -> Sequence[WorkerStatus]: ...
