"""StorageManager: Redis (real-time) and Postgres (source of truth) kept in step.

Reading a task: read Postgres, read Redis; if Redis holds a newer version, copy it into
Postgres; once the task is terminal and persisted, delete the Redis key. Serve Postgres when it
has the task, else Redis. A task Postgres already holds as terminal is final (no status can
replace it), so its read stops at Postgres, and the copy is kept for that reader a short while
(``FinishedTasks``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence

from cachetools import TTLCache

from euglena.ports import Caller, TaskStore
from euglena.task import Task
from euglena_gateway.usecases.ports import LiveStatusStore, SyncObserver

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


class StorageManager:
    def __init__(
        self,
        store: TaskStore,
        live: LiveStatusStore,
        observe: SyncObserver | None = None,
        finished: FinishedTasks | None = None,
    ) -> None:
        self.store = store
        self.live = live
        self._observe = observe or (lambda _outcome: None)
        self._finished = finished or FinishedTasks(size=0, ttl=0)

    async def read(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        finished = self._finished.get(correlation_id, caller)
        if finished is not None:
            return finished
        persisted = await self.store.get(correlation_id, caller)
        if persisted is not None and persisted.is_terminal:
            self._finished.keep(persisted, caller)
            return persisted
        live = await self.live.get(correlation_id)
        return await self.reconcile(persisted, live, caller)

    async def read_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        rows = await self.store.get_many(correlation_ids, caller)
        persisted = {t.correlation_id: t for t in rows}
        live = await self.live.get_many(
            [
                cid
                for cid in correlation_ids
                if cid not in persisted or not persisted[cid].is_terminal
            ]
        )
        tasks = []
        for cid in correlation_ids:
            task = await self.reconcile(persisted.get(cid), live.get(cid), caller)
            if task is not None:
                tasks.append(task)
        return tasks

    async def settle(self, correlation_ids: Sequence[uuid.UUID]) -> None:
        """Sync live copies into the Postgres rows they belong to (dropping finished ones).

        A live copy without a row is left alone: it has nothing to be attached to and expires
        with its TTL."""
        ids = list(correlation_ids)
        rows = {t.correlation_id: t for t in await self.store.get_many(ids, None)}
        for cid, live in (await self.live.get_many(ids)).items():
            if cid in rows:
                await self.reconcile(rows[cid], live, None)

    async def reconcile(
        self, persisted: Task | None, live: Task | None, caller: Caller | None
    ) -> Task | None:
        if live is not None and caller is not None and live.user_id != caller.user_id:
            live = None
        if persisted is None:
            return live
        if live is None:
            return persisted
        current = persisted
        if live.supersedes(persisted):
            if await self.store.apply(live):
                current = live
                self._observe("persisted_terminal" if live.is_terminal else "updated")
            else:
                current = await self.store.get(persisted.correlation_id, None) or persisted
                self._observe("unchanged")
        if current.is_terminal:
            await self.live.delete(current.correlation_id)
        return current

    async def overlay(self, tasks: Sequence[Task]) -> list[Task]:
        """Newer live progress laid over persisted rows, without writing (for listings)."""
        open_ids = [t.correlation_id for t in tasks if not t.is_terminal]
        live = await self.live.get_many(open_ids)
        return [
            live[t.correlation_id]
            if t.correlation_id in live and live[t.correlation_id].supersedes(t)
            else t
            for t in tasks
        ]
