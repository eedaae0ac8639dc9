"""Task use-cases: submit, read, list, cancel, watch.

They decide who may do what (the caller's identity, the service role's privileges) and ask
``StorageManager`` for outcomes; they never touch a store themselves.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from euglena.errors import DependencyUnavailable, PublishUnconfirmed, Severity
from euglena.messages import TaskMessage
from euglena.ports import Caller, Page, TaskQueue
from euglena.task import Task, TaskSource, new_task
from euglena_gateway.auth import Principal
from euglena_gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from euglena_gateway.usecases.ports import TaskEvents
from euglena_gateway.usecases.storage import StorageManager

log = logging.getLogger(__name__)

CANCELLED_MESSAGE = "cancelled at the owner's request"


@dataclass(frozen=True, slots=True)
class Submission:
    mandate: str
    max_ticks: int
    user_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    source: TaskSource | None = None


def caller_of(principal: Principal) -> Caller | None:
    """The row-level-security identity for reads; ``None`` (unrestricted) for the service role."""
    if principal.is_service or principal.user_id is None:
        return None
    return Caller(user_id=principal.user_id, claims=principal.claims, token=principal.token)


class TaskService:
    def __init__(self, storage: StorageManager, queue: TaskQueue, events: TaskEvents) -> None:
        self._storage = storage
        self._queue = queue
        self._events = events

    async def submit(self, principal: Principal, submission: Submission) -> tuple[Task, bool]:
        """Record and queue a task. Returns it and whether it is new (False: idempotent repeat)."""
        task = new_task(
            user_id=_owner(principal, submission),
            mandate=submission.mandate,
            max_ticks=submission.max_ticks,
            source=_source(principal, submission),
            correlation_id=_correlation_id(principal, submission),
        )
        stored, created = await self._storage.record(task)
        if not created:
            return await self._storage.read(stored.correlation_id, None) or stored, False
        try:
            await self._queue.publish(TaskMessage.from_task(stored))
        except PublishUnconfirmed as exc:
            # It may be queued already: rolling it back could leave it running unrecorded.
            # It stays recorded and unmarked, and the QueueReconciler queues it (or finds it
            # running) once the broker answers again.
            Severity.DEGRADED.log(
                log, "task %s kept for the reconciler: %s", task.correlation_id, exc
            )
            return stored, True
        except DependencyUnavailable:
            await self._storage.withdraw(stored)  # certainly not queued: nothing remains
            raise
        self._storage.confirmed(stored.correlation_id)
        return stored, True

    async def get(self, principal: Principal, correlation_id: uuid.UUID) -> Task:
        task = await self._storage.read(correlation_id, caller_of(principal))
        if task is None:
            raise NotFound(f"task {correlation_id} not found")
        return task

    async def get_many(self, principal: Principal, ids: Sequence[uuid.UUID]) -> list[Task]:
        return await self._storage.read_many(ids, caller_of(principal))

    async def list(self, principal: Principal, *, limit: int, cursor: str | None) -> Page:
        caller = caller_of(principal)
        if caller is None:
            raise BadRequest("the service role lists tasks by id: use ?ids=<id>,<id>")
        return await self._storage.page(caller, limit=limit, cursor=cursor)

    async def cancel(self, principal: Principal, correlation_id: uuid.UUID) -> Task:
        current = await self.get(principal, correlation_id)
        if current.is_terminal:
            raise Conflict(
                f"task {correlation_id} is already {current.status.value}",
                details={"task": current.model_dump(mode="json")},
            )
        outcome = await self._storage.cancel(
            current, reason=CANCELLED_MESSAGE, caller=caller_of(principal)
        )
        if not outcome.cancelled:
            raise Conflict(
                f"task {correlation_id} finished before it could be cancelled",
                details={"task": outcome.task.model_dump(mode="json")},
            )
        return outcome.task

    async def watch(self, principal: Principal, correlation_id: uuid.UUID) -> AsyncIterator[Task]:
        """Every new version of the task, starting with the current one, until it is terminal."""
        last = await self.get(principal, correlation_id)
        yield last
        if last.is_terminal:
            return
        async for update in self._events.watch(correlation_id):
            if update is None or update.is_terminal:
                update = await self.get(principal, correlation_id)
            if update.updated_at > last.updated_at:
                last = update
                yield update
            if last.is_terminal:
                return


def _owner(principal: Principal, submission: Submission) -> uuid.UUID:
    if principal.is_service:
        if submission.user_id is None:
            raise BadRequest("the service role must say on whose behalf it submits: user_id")
        return submission.user_id
    if submission.user_id is not None and submission.user_id != principal.user_id:
        raise Forbidden("only the service role may submit on behalf of another user")
    assert principal.user_id is not None
    return principal.user_id


def _source(principal: Principal, submission: Submission) -> TaskSource:
    if submission.source is not None and submission.source is not TaskSource.API:
        if not principal.is_service:
            raise Forbidden(
                f"only the service role may submit tasks with source '{submission.source}'"
            )
        return submission.source
    return TaskSource.API


def _correlation_id(principal: Principal, submission: Submission) -> uuid.UUID | None:
    if submission.correlation_id is not None and not principal.is_service:
        raise Forbidden("only the service role may choose a task's correlation_id")
    return submission.correlation_id
