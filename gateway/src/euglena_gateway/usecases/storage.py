"""StorageManager: Redis (real-time) and Postgres (source of truth) kept in step.

Reading a task: read Postgres, read Redis; if Redis holds a newer version, copy it into
Postgres; once the task is terminal and persisted, delete the Redis key. Serve Postgres when it
has the task, else Redis.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from euglena.ports import Caller, TaskStore
from euglena.task import Task
from euglena_gateway.usecases.ports import LiveStatusStore, SyncObserver

log = logging.getLogger(__name__)


class StorageManager:
    def __init__(
        self, store: TaskStore, live: LiveStatusStore, observe: SyncObserver | None = None
    ) -> None:
        self.store = store
        self.live = live
        self._observe = observe or (lambda _outcome: None)

    async def read(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        persisted = await self.store.get(correlation_id, caller)
        live = await self.live.get(correlation_id)
        return await self.reconcile(persisted, live, caller)

    async def read_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        rows = await self.store.get_many(correlation_ids, caller)
        persisted = {t.correlation_id: t for t in rows}
        live = await self.live.get_many(list(correlation_ids))
        tasks = []
        for cid in correlation_ids:
            task = await self.reconcile(persisted.get(cid), live.get(cid), caller)
            if task is not None:
                tasks.append(task)
        return tasks

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
