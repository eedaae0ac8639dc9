"""In-memory adapters of the core ports, for unit tests of the use-cases' decisions.

They keep each port's contract (compare-and-set rules, quota, row-level visibility, publisher
confirms) in a few lines of Python, so a use-case test runs in milliseconds; integration tests
run the same use-cases on the real Redis, Postgres and RabbitMQ. ``down = True`` makes an
adapter raise ``DependencyUnavailable`` as its real counterpart does during an outage (and
``failures = n`` for its next ``n`` calls only); ``calls`` records what was asked of it.
Never shipped in an image (the devkit is not).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta

from euglena.errors import DependencyUnavailable, PublishUnconfirmed, QuotaExceeded, UnknownUser
from euglena.messages import TaskMessage
from euglena.ports import Caller, Page, WriteResult
from euglena.status import TaskStatus
from euglena.task import Task
from euglena.workers import WorkerStatus


class _Outage:
    """``down`` and the call log shared by every in-memory adapter."""

    dependency = "in-memory"

    def __init__(self) -> None:
        self.down = False
        self.failures = 0
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failures > 0:
            self.failures -= 1
            raise DependencyUnavailable(self.dependency, "connection refused (in-memory)")
        if self.down:
            raise DependencyUnavailable(self.dependency, "down (in-memory)")

    async def ping(self) -> None:
        self._call("ping")


class InMemoryStatusStore(_Outage):
    """The live copy of tasks (Redis ``task:{id}``), with the same compare-and-set rule."""

    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[uuid.UUID, Task] = {}

    async def get(self, correlation_id: uuid.UUID) -> Task | None:
        self._call("get")
        return self.tasks.get(correlation_id)

    async def get_many(self, correlation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Task]:
        self._call("get_many")
        return {cid: self.tasks[cid] for cid in correlation_ids if cid in self.tasks}

    async def put(self, task: Task, *, create: bool = True) -> WriteResult:
        self._call("put")
        current = self.tasks.get(task.correlation_id)
        if current is None and not create:
            return WriteResult(applied=False, current=None)
        if current is not None and not task.supersedes(current):
            return WriteResult(applied=False, current=current)
        self.tasks[task.correlation_id] = task
        return WriteResult(applied=True, current=task)

    async def delete(self, correlation_id: uuid.UUID) -> None:
        self._call("delete")
        self.tasks.pop(correlation_id, None)

    async def scan(self, batch: int = 200) -> AsyncIterator[list[Task]]:
        self._call("scan")
        tasks = list(self.tasks.values())
        for start in range(0, len(tasks), batch):
            yield tasks[start : start + batch]


class InMemoryTaskStore(_Outage):
    """Tasks and daily quotas (Postgres ``tasks`` and ``profiles``): rows a caller may see are
    the caller's own; a submission past the owner's limit for the day is refused; a guarded
    update lands only over an older, non-terminal row."""

    dependency = "postgres"

    def __init__(self, *, limits: dict[uuid.UUID, int] | None = None) -> None:
        super().__init__()
        self.rows: dict[uuid.UUID, Task] = {}
        self.limits = limits if limits is not None else {}
        self.released: list[uuid.UUID] = []
        self.queued: set[uuid.UUID] = set()
        self.leases: dict[uuid.UUID, datetime] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def add_user(self, user_id: uuid.UUID | None = None, *, limit: int = 1000) -> uuid.UUID:
        user = user_id or uuid.uuid4()
        self.limits[user] = limit
        return user

    def reserved(self, user_id: uuid.UUID) -> int:
        today = datetime.now(UTC).date()
        return sum(
            t.max_ticks
            for t in self.rows.values()
            if t.user_id == user_id and t.created_at.astimezone(UTC).date() == today
        )

    async def create(self, task: Task) -> tuple[Task, bool]:
        self._call("create")
        existing = self.rows.get(task.correlation_id)
        if existing is not None:
            return existing, False
        if task.user_id not in self.limits:
            raise UnknownUser(task.user_id)
        used, limit = self.reserved(task.user_id), self.limits[task.user_id]
        if used + task.max_ticks > limit:
            raise QuotaExceeded(used, limit, task.max_ticks)
        self.rows[task.correlation_id] = task
        return task, True

    async def release(self, correlation_id: uuid.UUID) -> None:
        self._call("release")
        if self.rows.pop(correlation_id, None) is not None:
            self.released.append(correlation_id)

    async def get(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        self._call("get")
        task = self.rows.get(correlation_id)
        return task if task is not None and _visible(task, caller) else None

    async def get_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        self._call("get_many")
        found = (self.rows.get(cid) for cid in correlation_ids)
        return [t for t in found if t is not None and _visible(t, caller)]

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        self._call("list")
        mine = sorted(
            (t for t in self.rows.values() if t.user_id == caller.user_id),
            key=lambda t: (t.created_at, t.correlation_id.int),
            reverse=True,
        )
        start = int(cursor) if cursor else 0  # ValueError for a cursor it did not issue
        items = mine[start : start + limit]
        more = start + limit < len(mine)
        return Page(items=items, next_cursor=str(start + limit) if more else None)

    async def apply(self, task: Task) -> bool:
        self._call("apply")
        current = self.rows.get(task.correlation_id)
        if current is None or not task.supersedes(current):
            return False
        self.rows[task.correlation_id] = task
        return True

    async def mark_queued(self, correlation_ids: Sequence[uuid.UUID]) -> None:
        self._call("mark_queued")
        self.queued.update(cid for cid in correlation_ids if cid in self.rows)

    async def claim_unqueued(self, *, older_than: float, limit: int) -> builtins.list[Task]:
        self._call("claim_unqueued")
        now = self.clock()
        due = sorted(
            (
                t
                for t in self.rows.values()
                if t.correlation_id not in self.queued
                and t.status is TaskStatus.PENDING
                and t.created_at < now - timedelta(seconds=older_than)
                and self.leases.get(t.correlation_id, now) <= now
            ),
            key=lambda t: t.created_at,
        )[:limit]
        for task in due:
            self.leases[task.correlation_id] = now + timedelta(seconds=older_than)
        return due

    async def open_tasks(
        self, *, after: uuid.UUID, fresh_within: float, limit: int
    ) -> builtins.list[Task]:
        self._call("open_tasks")
        fresh = self.clock() - timedelta(seconds=fresh_within)
        found = sorted(
            (
                t
                for t in self.rows.values()
                if not t.is_terminal
                and t.correlation_id in self.queued
                and (t.status is not TaskStatus.PENDING or t.updated_at > fresh)
                and t.correlation_id > after
            ),
            key=lambda t: t.correlation_id,
        )
        return found[:limit]

    async def adopt(self, task: Task) -> bool:
        self._call("adopt")
        if task.correlation_id in self.rows or not task.is_terminal:
            return False
        if task.user_id not in self.limits:
            return False
        self.rows[task.correlation_id] = task
        return True

    async def close(self) -> None:
        return None


def _visible(task: Task, caller: Caller | None) -> bool:
    return caller is None or task.user_id == caller.user_id


class InMemoryQueue(_Outage):
    """The task queue: every message it took, in order. ``unconfirmed = n``: the next ``n``
    messages are queued but their confirm is lost (``PublishUnconfirmed``)."""

    dependency = "rabbitmq"

    def __init__(self) -> None:
        super().__init__()
        self.published: list[TaskMessage] = []
        self.unconfirmed = 0

    async def publish(self, message: TaskMessage) -> None:
        self._call("publish")
        self.published.append(message)
        if self.unconfirmed > 0:
            self.unconfirmed -= 1
            raise PublishUnconfirmed(self.dependency, "confirm lost (in-memory)")


class InMemoryWorkers(_Outage):
    """Worker presence (Redis ``worker:status:{id}``): both the agents' board and the readers'
    directory. ``expire(worker_id)`` is a record's TTL running out."""

    dependency = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, WorkerStatus] = {}
        self.ttls: dict[str, float] = {}

    async def publish(self, status: WorkerStatus, *, ttl_seconds: float) -> None:
        self._call("publish")
        self.records[status.worker_id] = status
        self.ttls[status.worker_id] = ttl_seconds

    async def withdraw(self, worker_id: str) -> None:
        self._call("withdraw")
        self.records.pop(worker_id, None)

    def expire(self, worker_id: str) -> None:
        self.records.pop(worker_id, None)

    async def live_workers(self) -> list[WorkerStatus]:
        self._call("live_workers")
        return list(self.records.values())
