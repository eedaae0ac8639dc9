"""The gateway's memory of finished tasks: per reader, finished only, bounded in time and size."""

from __future__ import annotations

import uuid

from euglena.ports import Caller
from euglena.status import TaskStatus
from euglena.task import Task, new_task
from euglena_gateway.usecases.storage import FinishedTasks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _caller(user: uuid.UUID) -> Caller:
    return Caller(user_id=user, claims={"sub": str(user), "role": "authenticated"})


def _finished(user: uuid.UUID) -> Task:
    task = new_task(user_id=user, mandate="m", max_ticks=1)
    return task.evolve(status=TaskStatus.COMPLETED, result="done")


def test_a_finished_task_is_served_again_only_to_the_reader_who_read_it() -> None:
    hits: list[None] = []
    cache = FinishedTasks(size=10, ttl=30, on_hit=lambda: hits.append(None))
    owner, other = uuid.uuid4(), uuid.uuid4()
    task = _finished(owner)
    cache.keep(task, _caller(owner))

    assert cache.get(task.correlation_id, _caller(owner)) == task
    assert cache.get(task.correlation_id, _caller(other)) is None
    assert cache.get(task.correlation_id, None) is None, "the service role reads for itself"
    assert len(hits) == 1


def test_unfinished_tasks_are_never_kept() -> None:
    cache = FinishedTasks(size=10, ttl=30)
    owner = uuid.uuid4()
    running = new_task(user_id=owner, mandate="m", max_ticks=3).evolve(
        status=TaskStatus.IN_PROGRESS
    )
    cache.keep(running, _caller(owner))
    assert cache.get(running.correlation_id, _caller(owner)) is None


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = FinishedTasks(size=10, ttl=30, clock=clock)
    owner = uuid.uuid4()
    task = _finished(owner)
    cache.keep(task, _caller(owner))
    clock.now += 29
    assert cache.get(task.correlation_id, _caller(owner)) == task
    clock.now += 2
    assert cache.get(task.correlation_id, _caller(owner)) is None


def test_the_least_recently_used_entry_leaves_when_full() -> None:
    cache = FinishedTasks(size=2, ttl=30)
    owner = uuid.uuid4()
    first, second, third = (_finished(owner) for _ in range(3))
    cache.keep(first, _caller(owner))
    cache.keep(second, _caller(owner))
    assert cache.get(first.correlation_id, _caller(owner)) == first  # first is now recent
    cache.keep(third, _caller(owner))
    assert cache.get(second.correlation_id, _caller(owner)) is None
    assert cache.get(first.correlation_id, _caller(owner)) == first
    assert cache.get(third.correlation_id, _caller(owner)) == third


def test_zero_size_or_ttl_turns_it_off() -> None:
    owner = uuid.uuid4()
    for cache in (FinishedTasks(size=0, ttl=30), FinishedTasks(size=10, ttl=0)):
        task = _finished(owner)
        cache.keep(task, _caller(owner))
        assert cache.get(task.correlation_id, _caller(owner)) is None
