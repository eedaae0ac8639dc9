"""The QueueReconciler on in-memory ports: every recorded task ends up queued or failed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from euglena.status import TaskStatus
from euglena.task import Task, new_task, utcnow
from euglena_devkit.in_memory import InMemoryQueue, InMemoryStatusStore, InMemoryTaskStore
from euglena_gateway.auth import Principal
from euglena_gateway.usecases.reconcile import QueueReconciler
from euglena_gateway.usecases.storage import StorageManager
from euglena_gateway.usecases.tasks import Submission, TaskService

GRACE, GIVE_UP = 30.0, 600.0


class Outbox:
    def __init__(self) -> None:
        self.rows, self.live, self.queue = (
            InMemoryTaskStore(),
            InMemoryStatusStore(),
            InMemoryQueue(),
        )
        self.now = utcnow()
        self.rows.clock = lambda: self.now
        self.storage = StorageManager(self.rows, self.live)
        self.tasks = TaskService(self.storage, self.queue, events=None)  # type: ignore[arg-type]
        self.reconciler = QueueReconciler(
            self.storage, self.queue, grace=GRACE, give_up=GIVE_UP, interval=1, clock=self.clock
        )
        self.user = self.rows.add_user(limit=100)
        self.principal = Principal("authenticated", self.user, {"sub": str(self.user)})

    def clock(self) -> datetime:
        return self.now

    def later(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def submit(self) -> Task:
        task, created = await self.tasks.submit(self.principal, Submission("m", 3))
        assert created
        return task

    async def recorded_only(self, *, age: float = 0) -> Task:
        """What a gateway that died right after recording leaves behind."""
        task = new_task(user_id=self.user, mandate="m", max_ticks=3)
        task = task.model_copy(update={"created_at": self.now - timedelta(seconds=age)})
        await self.storage.record(task)
        return task

    def published(self, task: Task) -> int:
        return sum(m.correlation_id == task.correlation_id for m in self.queue.published)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


async def test_a_confirmed_submission_is_marked_queued_and_never_published_again(
    outbox: Outbox,
) -> None:
    task = await outbox.submit()
    assert await outbox.storage.flush_confirmed() == 1
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).total == 0
    assert outbox.published(task) == 1 and task.correlation_id in outbox.rows.queued


async def test_a_task_recorded_but_never_published_is_queued_once_after_the_grace(
    outbox: Outbox,
) -> None:
    task = await outbox.recorded_only()
    assert (await outbox.reconciler.reconcile_once()).total == 0  # its publish may be under way
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).republished == 1
    assert outbox.published(task) == 1 and task.correlation_id in outbox.rows.queued
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).total == 0


async def test_an_unconfirmed_publish_is_kept_not_rolled_back(outbox: Outbox) -> None:
    outbox.queue.unconfirmed = 1
    task = await outbox.submit()
    assert outbox.rows.rows[task.correlation_id].status is TaskStatus.PENDING
    assert outbox.rows.released == [] and task.correlation_id not in outbox.rows.queued


async def test_a_task_a_worker_already_has_is_marked_and_synced_not_published_again(
    outbox: Outbox,
) -> None:
    outbox.queue.unconfirmed = 1
    task = await outbox.submit()
    running = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=1, worker_id="w")
    outbox.live.tasks[task.correlation_id] = running
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).running == 1
    assert outbox.published(task) == 1  # only the first, unconfirmed copy
    assert outbox.rows.rows[task.correlation_id] == running
    assert task.correlation_id in outbox.rows.queued


async def test_a_task_that_could_not_be_queued_for_too_long_fails(outbox: Outbox) -> None:
    task = await outbox.recorded_only(age=GIVE_UP + 1)
    assert (await outbox.reconciler.reconcile_once()).failed == 1
    failed = outbox.rows.rows[task.correlation_id]
    assert failed.status is TaskStatus.FAILED and "could not be queued" in (failed.error or "")
    assert outbox.live.tasks[task.correlation_id].status is TaskStatus.FAILED
    assert outbox.published(task) == 0


async def test_while_the_broker_is_away_the_task_waits_for_its_next_lease(
    outbox: Outbox,
) -> None:
    task = await outbox.recorded_only(age=GRACE + 1)
    outbox.queue.down = True
    assert (await outbox.reconciler.reconcile_once()).total == 0
    outbox.queue.down = False
    assert (await outbox.reconciler.reconcile_once()).total == 0  # still claimed
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).republished == 1
    assert outbox.published(task) == 1


async def test_an_open_task_whose_live_copy_was_lost_is_queued_again(outbox: Outbox) -> None:
    task = await outbox.submit()
    await outbox.storage.flush_confirmed()
    outbox.live.tasks.clear()  # Redis restarted without persistence
    assert (await outbox.reconciler.reconcile_once()).restored == 0  # first seen missing
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).restored == 1
    assert outbox.published(task) == 2
    assert outbox.live.tasks[task.correlation_id].status is TaskStatus.PENDING
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).restored == 0  # it has a copy again


async def test_a_copy_that_comes_back_clears_the_suspicion(outbox: Outbox) -> None:
    task = await outbox.submit()
    await outbox.storage.flush_confirmed()
    running = outbox.live.tasks.pop(task.correlation_id).evolve(status=TaskStatus.IN_PROGRESS)
    await outbox.reconciler.reconcile_once()
    outbox.live.tasks[task.correlation_id] = running  # the worker's next tick wrote it
    await outbox.reconciler.reconcile_once()
    outbox.later(GRACE + 1)
    assert (await outbox.reconciler.reconcile_once()).restored == 0
    assert outbox.published(task) == 1
