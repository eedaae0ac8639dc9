"""StorageManager: the one owner of the rule that keeps Redis (real-time) and Postgres (the
source of truth users see) in step. Use-cases ask it for outcomes; none touches a store.

- **Recording** a task writes the Postgres row (which reserves its ticks) and then the Redis
  copy; if Redis refuses, the row is released: nothing is half-written. ``withdraw`` undoes a
  recorded task that could not be queued.
- **Reading** a task reads Postgres, then Redis; if Redis holds a newer version it is copied
  into Postgres; once the task is terminal and persisted, the Redis key is deleted. Postgres is
  served when it has the task, else Redis. A task Postgres holds as terminal is final (no status
  can replace it), so its read stops at Postgres, and the copy is kept for that reader a short
  while (``FinishedTasks``). A finished task Redis holds without a row is written to Postgres
  ("creates if missing"). With Redis away, reads are served from Postgres alone ("degraded");
  only a task Postgres does not hold is then unavailable.
- **Cancelling** writes ``cancelled`` to Redis by compare-and-set (which the agents see between
  ticks), then to Postgres; a task that finished first is reported as finished, not cancelled.
- **Settling** persists the finished tasks in Redis that nobody has read, before their copy
  expires (the ``Settler`` decides when).
- **Queueing** (the outbox): a task whose message the broker confirmed is marked queued in its
  row, in batches off the request's path (``confirmed`` / ``flush_confirmed``). Tasks left
  pending and unmarked are handed to the ``QueueReconciler`` (``unqueued``), which republishes
  them, notices that a worker already has them (``progress_of``), or fails them (``fail``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache

from euglena.errors import DependencyUnavailable
from euglena.keys import TASK_TTL_SECONDS
from euglena.ports import Caller, Page
from euglena.status import TaskStatus
from euglena.task import Task
from euglena_gateway.usecases.ports import LiveStatusStore, RecordStore, SyncObserver

log = logging.getLogger(__name__)


class FinishedTasks:
    """Finished tasks recently read from Postgres, kept per reader.

    A terminal task never changes again, so the copy Postgres returned under a caller's
    row-level security can be served to that same caller again without a query. Entries are
    keyed by (reader, task id): a copy read as one user is never served to another. They live
    ``ttl`` seconds at most, which bounds how long the owner could still see a row deleted
    meanwhile, and at most ``size`` of them are kept (least recently used leave first).
    ``size=0`` or ``ttl=0`` turns the cache off.
    """

    def __init__(
        self,
        *,
        size: int,
        ttl: float,
        on_hit: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TTLCache[tuple[uuid.UUID | None, uuid.UUID], Task] | None = (
            TTLCache(maxsize=size, ttl=ttl, timer=clock) if size > 0 and ttl > 0 else None
        )
        self._on_hit = on_hit or (lambda: None)

    def get(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        if self._entries is None:
            return None
        task = self._entries.get((_reader(caller), correlation_id))
        if task is not None:
            self._on_hit()
        return task

    def keep(self, task: Task, caller: Caller | None) -> None:
        if self._entries is not None and task.is_terminal:
            self._entries[(_reader(caller), task.correlation_id)] = task


def _reader(caller: Caller | None) -> uuid.UUID | None:
    """The row-level-security identity a read ran under (``None``: the service role)."""
    return caller.user_id if caller is not None else None


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The task after a cancel request, and whether this request cancelled it."""

    task: Task
    cancelled: bool


_CANCEL_ATTEMPTS = 3


class StorageManager:
    def __init__(
        self,
        store: RecordStore,
        live: LiveStatusStore,
        observe: SyncObserver | None = None,
        finished: FinishedTasks | None = None,
    ) -> None:
        self._store = store
        self._live = live
        self._observe = observe or (lambda _outcome: None)
        self._finished = finished or FinishedTasks(size=0, ttl=0)
        self._confirmed: set[uuid.UUID] = set()

    # -- writing ---------------------------------------------------------------------

    async def record(self, task: Task) -> tuple[Task, bool]:
        """Record a new task in both stores; return it and whether it is new.

        ``False``: the correlation id existed, nothing was written and the stored task is
        returned. Raises QuotaExceeded or UnknownUser (from Postgres), DependencyUnavailable
        (nothing is left behind)."""
        stored, created = await self._store.create(task)
        if not created:
            return stored, False
        try:
            await self._live.put(stored)
        except DependencyUnavailable:
            await self._store.release(stored.correlation_id)
            raise
        return stored, True

    async def withdraw(self, task: Task) -> None:
        """Undo :meth:`record` (the task could not be queued), giving back its ticks."""
        try:
            await self._live.delete(task.correlation_id)
        except DependencyUnavailable:
            log.warning("could not remove task %s from Redis; its TTL will", task.correlation_id)
        await self._store.release(task.correlation_id)

    async def cancel(self, current: Task, *, reason: str, caller: Caller | None) -> Cancellation:
        """Cancel ``current`` (a non-terminal task the caller may see) in both stores.

        Redis decides by compare-and-set: a newer live copy is cancelled on top of what it
        holds; a copy that finished first wins, is synced, and comes back ``cancelled=False``.
        """
        task = current
        for _ in range(_CANCEL_ATTEMPTS):
            cancelled = task.evolve(status=TaskStatus.CANCELLED, error=reason)
            written = await self._live.put(cancelled)
            if written.applied:
                await self._store.apply(cancelled)
                return Cancellation(cancelled, cancelled=True)
            if written.current is None:
                break
            if written.current.is_terminal:
                final = await self._reconcile(current, written.current, caller)
                return Cancellation(final or written.current, cancelled=False)
            task = written.current
        # Another writer kept moving the live copy; Postgres records the cancel, Redis follows
        # on the next read (a terminal row is final).
        cancelled = task.evolve(status=TaskStatus.CANCELLED, error=reason)
        await self._store.apply(cancelled)
        return Cancellation(cancelled, cancelled=True)

    # -- queueing (the outbox) -----------------------------------------------------------

    def confirmed(self, correlation_id: uuid.UUID) -> None:
        """The broker confirmed this task's message; written by the next ``flush_confirmed``."""
        self._confirmed.add(correlation_id)

    async def flush_confirmed(self) -> int:
        """Mark every confirmed task queued in Postgres; return how many were written. If
        Postgres is away they are kept for the next flush (DependencyUnavailable)."""
        ids, self._confirmed = self._confirmed, set()
        if not ids:
            return 0
        try:
            await self._store.mark_queued(list(ids))
        except DependencyUnavailable:
            self._confirmed |= ids
            raise
        return len(ids)

    async def mark_queued(self, correlation_id: uuid.UUID) -> None:
        await self._store.mark_queued([correlation_id])

    async def unqueued(self, *, older_than: float, limit: int) -> list[Task]:
        """Claim pending tasks recorded ``older_than`` seconds ago and never confirmed."""
        return await self._store.claim_unqueued(older_than=older_than, limit=limit)

    async def progress_of(self, task: Task) -> Task | None:
        """The task as a worker moved it on, if one did (its message was queued after all,
        only the confirm was lost): marked queued and synced into Postgres. None when Redis
        shows no progress (or cannot be asked)."""
        try:
            live = await self._live.get(task.correlation_id)
        except DependencyUnavailable:
            return None
        if live is None or live.status is TaskStatus.PENDING:
            return None
        await self._store.mark_queued([task.correlation_id])
        return await self._reconcile(task, live, None)

    async def open_tasks(self, *, after: uuid.UUID, limit: int) -> list[Task]:
        """Open, queued tasks Redis must hold a copy of (see ``RecordStore.open_tasks``)."""
        return await self._store.open_tasks(after=after, fresh_within=TASK_TTL_SECONDS, limit=limit)

    async def without_live_copy(self, tasks: Sequence[Task]) -> list[Task]:
        """Those of ``tasks`` Redis holds no copy of (none when Redis cannot be asked)."""
        try:
            live = await self._live.get_many([t.correlation_id for t in tasks])
        except DependencyUnavailable:
            return []
        return [t for t in tasks if t.correlation_id not in live]

    async def restore(self, task: Task) -> Task | None:
        """Write the row's version of a task whose live copy was lost back to Redis, if the
        row is still open and Redis still has none; return it (None: nothing to restore)."""
        row = await self._store.get(task.correlation_id, None)
        if row is None or row.is_terminal:
            return None
        # As a pending copy: the next delivery must see an unclaimed task (whoever claimed it
        # before is gone with the copy), and a pending copy never shows over the row's status.
        copy = row.evolve(status=TaskStatus.PENDING, worker_id=None)
        written = await self._live.put(copy)
        return copy if written.applied else None

    async def fail(self, task: Task, reason: str) -> Task:
        """Fail a task that never ran (its unused ticks come back with the guarded update)."""
        failed = task.evolve(status=TaskStatus.FAILED, error=reason)
        await self._store.apply(failed)
        try:
            await self._live.put(failed, create=False)
        except DependencyUnavailable:
            log.debug(
                "Redis unavailable: the live copy of %s expires by itself", task.correlation_id
            )
        return failed

    # -- reading ---------------------------------------------------------------------

    async def read(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        finished = self._finished.get(correlation_id, caller)
        if finished is not None:
            return finished
        persisted = await self._store.get(correlation_id, caller)
        if persisted is not None and persisted.is_terminal:
            self._finished.keep(persisted, caller)
            return persisted
        try:
            live = await self._live.get(correlation_id)
        except DependencyUnavailable:
            if persisted is None:
                raise
            self._degraded()
            return persisted
        return await self._reconcile(persisted, live, caller)

    async def read_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        rows = await self._store.get_many(correlation_ids, caller)
        persisted = {t.correlation_id: t for t in rows}
        open_ids = [
            cid for cid in correlation_ids if cid not in persisted or not persisted[cid].is_terminal
        ]
        live = await self._live_or_nothing(open_ids)
        tasks = []
        for cid in correlation_ids:
            task = await self._reconcile(persisted.get(cid), live.get(cid), caller)
            if task is not None:
                tasks.append(task)
        return tasks

    async def page(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        """The caller's tasks, newest first, with newer live progress laid over the rows (a
        listing writes nothing). Raises ValueError for a cursor the store did not issue."""
        page = await self._store.list(caller, limit=limit, cursor=cursor)
        open_ids = [t.correlation_id for t in page.items if not t.is_terminal]
        live = await self._live_or_nothing(open_ids)
        items = [
            live[t.correlation_id]
            if t.correlation_id in live and live[t.correlation_id].supersedes(t)
            else t
            for t in page.items
        ]
        return Page(items=items, next_cursor=page.next_cursor)

    # -- settling --------------------------------------------------------------------

    async def settle_finished(self, *, finished_before: datetime) -> int:
        """Persist every task Redis holds as finished since before ``finished_before`` into
        Postgres (its row, or a new one if it has none), deleting the Redis copy; return how
        many were due."""
        due = 0
        async for batch in self._live.scan():
            ready = {
                t.correlation_id: t
                for t in batch
                if t.is_terminal and t.updated_at <= finished_before
            }
            if not ready:
                continue
            due += len(ready)
            rows = {t.correlation_id: t for t in await self._store.get_many(list(ready), None)}
            for cid, live in ready.items():
                await self._reconcile(rows.get(cid), live, None)
        return due

    async def _live_or_nothing(self, correlation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Task]:
        """Live copies for a read that Postgres can answer alone if Redis is away."""
        if not correlation_ids:
            return {}
        try:
            return await self._live.get_many(correlation_ids)
        except DependencyUnavailable:
            self._degraded()
            return {}

    def _degraded(self) -> None:
        log.debug("Redis unavailable: read served from Postgres alone")
        self._observe("degraded")

    async def _reconcile(
        self, persisted: Task | None, live: Task | None, caller: Caller | None
    ) -> Task | None:
        if live is not None and caller is not None and live.user_id != caller.user_id:
            live = None
        if persisted is None:
            if live is not None and live.is_terminal and await self._store.adopt(live):
                self._observe("created")
                await self._live.delete(live.correlation_id)
            return live
        if live is None:
            return persisted
        current = persisted
        if live.supersedes(persisted):
            if await self._store.apply(live):
                current = live
                self._observe("persisted_terminal" if live.is_terminal else "updated")
            else:
                current = await self._store.get(persisted.correlation_id, None) or persisted
                self._observe("unchanged")
        if current.is_terminal:
            await self._live.delete(current.correlation_id)
        return current
