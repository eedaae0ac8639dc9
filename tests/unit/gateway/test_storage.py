"""StorageManager's decisions, on in-memory stores: what is synced, kept, deleted and undone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from euglena.errors import DependencyUnavailable
from euglena.ports import Caller
from euglena.status import TaskStatus
from euglena.task import Task, new_task
from euglena_devkit.in_memory import InMemoryStatusStore, InMemoryTaskStore
from euglena_gateway.usecases.storage import StorageManager


def _caller(user: uuid.UUID) -> Caller:
    return Caller(user_id=user, claims={"sub": str(user), "role": "authenticated"})


class Stores:
    def __init__(self) -> None:
        self.rows = InMemoryTaskStore()
        self.live = InMemoryStatusStore()
        self.syncs: list[str] = []
        self.storage = StorageManager(self.rows, self.live, self.syncs.append)
        self.user = self.rows.add_user(limit=10)

    async def recorded(self, max_ticks: int = 3) -> Task:
        task, created = await self.storage.record(
            new_task(user_id=self.user, mandate="m", max_ticks=max_ticks)
        )
        assert created
        return task


@pytest.fixture
def stores() -> Stores:
    return Stores()


async def test_recording_writes_the_row_then_the_live_copy(stores: Stores) -> None:
    task = await stores.recorded()
    assert stores.rows.rows[task.correlation_id] == task
    assert stores.live.tasks[task.correlation_id] == task


async def test_a_repeated_correlation_id_writes_nothing_and_returns_the_stored_task(
    stores: Stores,
) -> None:
    task = await stores.recorded()
    stores.live.tasks.clear()
    again, created = await stores.storage.record(task.evolve(mandate="other"))
    assert (again, created) == (task, False)
    assert stores.live.tasks == {}


async def test_when_redis_refuses_the_live_copy_the_row_is_released(stores: Stores) -> None:
    stores.live.down = True
    with pytest.raises(DependencyUnavailable):
        await stores.recorded(max_ticks=10)
    assert stores.rows.rows == {} and stores.rows.reserved(stores.user) == 0


async def test_withdrawing_releases_the_row_even_when_redis_is_away(stores: Stores) -> None:
    task = await stores.recorded()
    stores.live.down = True
    await stores.storage.withdraw(task)
    assert stores.rows.released == [task.correlation_id]
    assert task.correlation_id in stores.live.tasks  # left to its TTL


async def test_newer_live_progress_is_copied_into_postgres_on_read(stores: Stores) -> None:
    task = await stores.recorded()
    progress = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=2)
    stores.live.tasks[task.correlation_id] = progress
    assert await stores.storage.read(task.correlation_id, _caller(stores.user)) == progress
    assert stores.rows.rows[task.correlation_id] == progress
    assert stores.syncs == ["updated"]
    assert task.correlation_id in stores.live.tasks  # still running: the live copy stays


async def test_a_finished_task_is_persisted_then_removed_from_redis(stores: Stores) -> None:
    task = await stores.recorded()
    done = task.evolve(status=TaskStatus.COMPLETED, result="r")
    stores.live.tasks[task.correlation_id] = done
    assert await stores.storage.read(task.correlation_id, None) == done
    assert stores.rows.rows[task.correlation_id] == done
    assert stores.live.tasks == {} and stores.syncs == ["persisted_terminal"]
    stores.live.calls.clear()
    assert await stores.storage.read(task.correlation_id, None) == done
    assert "get" not in stores.live.calls  # a finished row is final: Redis is not asked


async def test_an_older_live_copy_never_replaces_the_row(stores: Stores) -> None:
    task = await stores.recorded()
    newer = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=2)
    stores.rows.rows[task.correlation_id] = newer
    assert await stores.storage.read(task.correlation_id, None) == newer
    assert stores.syncs == []


async def test_a_live_copy_of_someone_elses_task_is_not_served(stores: Stores) -> None:
    stranger = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=1)
    stores.live.tasks[stranger.correlation_id] = stranger
    assert await stores.storage.read(stranger.correlation_id, _caller(stores.user)) is None
    assert await stores.storage.read(stranger.correlation_id, None) == stranger


async def test_cancelling_writes_both_stores(stores: Stores) -> None:
    task = await stores.recorded()
    outcome = await stores.storage.cancel(task, reason="stop", caller=None)
    assert outcome.cancelled and outcome.task.status is TaskStatus.CANCELLED
    assert stores.live.tasks[task.correlation_id] == outcome.task
    assert stores.rows.rows[task.correlation_id] == outcome.task


async def test_a_task_that_finished_first_is_not_cancelled_and_is_synced(stores: Stores) -> None:
    task = await stores.recorded()
    done = task.evolve(status=TaskStatus.COMPLETED, result="r")
    stores.live.tasks[task.correlation_id] = done
    outcome = await stores.storage.cancel(task, reason="stop", caller=None)
    assert not outcome.cancelled and outcome.task == done
    assert stores.rows.rows[task.correlation_id] == done and stores.live.tasks == {}


async def test_a_cancel_lands_on_top_of_progress_written_meanwhile(stores: Stores) -> None:
    task = await stores.recorded()
    later = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=1)
    # the agent's write carries a timestamp ahead of the gateway's clock
    later = later.model_copy(update={"updated_at": later.updated_at + timedelta(seconds=5)})
    stores.live.tasks[task.correlation_id] = later
    outcome = await stores.storage.cancel(task, reason="stop", caller=None)
    assert outcome.cancelled
    assert stores.live.tasks[task.correlation_id].status is TaskStatus.CANCELLED
    assert stores.live.tasks[task.correlation_id].ticks == 1


async def test_a_listing_shows_live_progress_without_writing(stores: Stores) -> None:
    first, second = await stores.recorded(), await stores.recorded()
    progress = first.evolve(status=TaskStatus.IN_PROGRESS, ticks=1)
    stores.live.tasks[first.correlation_id] = progress
    stores.rows.calls.clear()
    page = await stores.storage.page(_caller(stores.user), limit=10, cursor=None)
    assert {t.correlation_id: t for t in page.items} == {
        first.correlation_id: progress,
        second.correlation_id: second,
    }
    assert "apply" not in stores.rows.calls


async def test_settling_persists_only_tasks_finished_before_the_cutoff(stores: Stores) -> None:
    old, recent, running = [await stores.recorded() for _ in range(3)]
    orphan = new_task(user_id=stores.user, mandate="m", max_ticks=1)
    for task in (old, orphan):
        stores.live.tasks[task.correlation_id] = task.evolve(status=TaskStatus.COMPLETED)
    cutoff = max(t.updated_at for t in stores.live.tasks.values())
    stores.live.tasks[recent.correlation_id] = recent.evolve(status=TaskStatus.COMPLETED)

    assert await stores.storage.settle_finished(finished_before=cutoff) == 2  # old and orphan

    assert stores.rows.rows[old.correlation_id].status is TaskStatus.COMPLETED
    assert stores.rows.rows[recent.correlation_id].status is TaskStatus.PENDING
    # a finished task whose row is missing is written to Postgres (the seed's "creates if
    # missing"), then removed from Redis like any other
    assert stores.rows.rows[orphan.correlation_id].status is TaskStatus.COMPLETED
    assert set(stores.live.tasks) == {recent.correlation_id, running.correlation_id}


async def test_a_finished_task_without_a_row_is_created_on_read(stores: Stores) -> None:
    orphan = new_task(user_id=stores.user, mandate="m", max_ticks=4)
    done = orphan.evolve(status=TaskStatus.FAILED, error="e", ticks=2)
    stores.live.tasks[orphan.correlation_id] = done
    assert await stores.storage.read(orphan.correlation_id, _caller(stores.user)) == done
    assert stores.rows.rows[orphan.correlation_id] == done
    assert stores.live.tasks == {} and stores.syncs == ["created"]


async def test_an_open_task_without_a_row_is_served_but_not_created(stores: Stores) -> None:
    orphan = new_task(user_id=stores.user, mandate="m", max_ticks=4)
    running = orphan.evolve(status=TaskStatus.IN_PROGRESS, ticks=1)
    stores.live.tasks[orphan.correlation_id] = running
    assert await stores.storage.read(orphan.correlation_id, None) == running
    assert stores.rows.rows == {} and stores.syncs == []


async def test_with_redis_down_reads_are_served_from_postgres(stores: Stores) -> None:
    task = await stores.recorded()
    stores.live.down = True
    caller = _caller(stores.user)
    assert await stores.storage.read(task.correlation_id, caller) == task
    assert await stores.storage.read_many([task.correlation_id], caller) == [task]
    page = await stores.storage.page(caller, limit=10, cursor=None)
    assert list(page.items) == [task]
    assert stores.syncs == ["degraded", "degraded", "degraded"]


async def test_with_redis_down_a_task_postgres_does_not_hold_is_unavailable(
    stores: Stores,
) -> None:
    stores.live.down = True
    with pytest.raises(DependencyUnavailable):
        await stores.storage.read(uuid.uuid4(), None)
