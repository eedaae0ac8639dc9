"""TaskService's decisions on in-memory ports: who may submit what, rollback, cancel, watch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from euglena.errors import DependencyUnavailable, QuotaExceeded
from euglena.ports import WriteResult
from euglena.status import TaskStatus
from euglena.task import Task, TaskSource
from euglena_devkit.in_memory import InMemoryQueue, InMemoryStatusStore, InMemoryTaskStore
from euglena_gateway.auth import SERVICE_ROLE, Principal
from euglena_gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from euglena_gateway.usecases.storage import StorageManager
from euglena_gateway.usecases.tasks import Submission, TaskService


class ScriptedEvents:
    """Task events that replay what a test lines up, then stay quiet."""

    def __init__(self) -> None:
        self.updates: list[Task | None] = []

    async def watch(self, correlation_id: uuid.UUID) -> AsyncIterator[Task | None]:
        for update in self.updates:
            yield update
        while True:
            yield None


class Platform:
    def __init__(self) -> None:
        self.rows = InMemoryTaskStore()
        self.live = InMemoryStatusStore()
        self.queue = InMemoryQueue()
        self.events = ScriptedEvents()
        self.service = TaskService(StorageManager(self.rows, self.live), self.queue, self.events)
        self.user_id = self.rows.add_user(limit=5)
        self.user = Principal("authenticated", self.user_id, {"sub": str(self.user_id)})
        self.operator = Principal(SERVICE_ROLE, None, {"role": SERVICE_ROLE})

    async def submit(self, principal: Principal | None = None, **fields: object) -> Task:
        values: dict[str, object] = {"mandate": "m", "max_ticks": 2, **fields}
        task, created = await self.service.submit(principal or self.user, Submission(**values))  # type: ignore[arg-type]
        assert created
        return task


@pytest.fixture
def platform() -> Platform:
    return Platform()


async def test_a_submission_is_recorded_and_queued_once(platform: Platform) -> None:
    task = await platform.submit()
    assert task.status is TaskStatus.PENDING and task.user_id == platform.user_id
    assert [m.correlation_id for m in platform.queue.published] == [task.correlation_id]
    assert task.correlation_id in platform.rows.rows and task.correlation_id in platform.live.tasks


async def test_a_submission_that_cannot_be_queued_leaves_nothing_and_gives_ticks_back(
    platform: Platform,
) -> None:
    platform.queue.down = True
    with pytest.raises(DependencyUnavailable, match="rabbitmq"):
        await platform.submit(max_ticks=5)
    assert platform.rows.rows == {} and platform.live.tasks == {}
    platform.queue.down = False
    await platform.submit(max_ticks=5)  # the whole quota is available again


async def test_a_submission_past_the_quota_writes_nothing(platform: Platform) -> None:
    await platform.submit(max_ticks=4)
    with pytest.raises(QuotaExceeded):
        await platform.submit(max_ticks=2)
    assert len(platform.queue.published) == 1 and len(platform.live.tasks) == 1


async def test_the_service_role_submits_on_behalf_of_a_user_idempotently(
    platform: Platform,
) -> None:
    cid = uuid.uuid4()
    submission = Submission(
        mandate="m",
        max_ticks=1,
        user_id=platform.user_id,
        correlation_id=cid,
        source=TaskSource.KUBERNETES,
    )
    first, created = await platform.service.submit(platform.operator, submission)
    again, created_again = await platform.service.submit(platform.operator, submission)
    assert (created, created_again) == (True, False)
    assert first.correlation_id == again.correlation_id == cid
    assert first.source is TaskSource.KUBERNETES
    assert len(platform.queue.published) == 1


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"user_id": uuid.uuid4()}, Forbidden, "on behalf"),
        ({"correlation_id": uuid.uuid4()}, Forbidden, "correlation_id"),
        ({"source": TaskSource.KUBERNETES}, Forbidden, "source"),
    ],
)
async def test_only_the_service_role_may_use_its_privileges(
    platform: Platform, fields: dict[str, object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        await platform.submit(**fields)
    assert platform.rows.rows == {}


async def test_the_service_role_must_name_the_owner(platform: Platform) -> None:
    with pytest.raises(BadRequest, match="user_id"):
        await platform.submit(platform.operator)


async def test_a_task_is_not_found_for_anyone_but_its_owner(platform: Platform) -> None:
    task = await platform.submit()
    stranger = Principal("authenticated", uuid.uuid4(), {})
    with pytest.raises(NotFound):
        await platform.service.get(stranger, task.correlation_id)
    assert (await platform.service.get(platform.operator, task.correlation_id)) == task


async def test_the_service_role_lists_by_id_only(platform: Platform) -> None:
    with pytest.raises(BadRequest, match="ids"):
        await platform.service.list(platform.operator, limit=10, cursor=None)


async def test_cancel_then_cancel_again_is_a_conflict_with_the_task(platform: Platform) -> None:
    task = await platform.submit()
    cancelled = await platform.service.cancel(platform.user, task.correlation_id)
    assert cancelled.status is TaskStatus.CANCELLED
    assert platform.live.tasks[task.correlation_id].status is TaskStatus.CANCELLED
    with pytest.raises(Conflict, match="already cancelled") as conflict:
        await platform.service.cancel(platform.user, task.correlation_id)
    assert conflict.value.details["task"]["status"] == "cancelled"


async def test_a_task_that_finishes_during_the_cancel_is_a_conflict(platform: Platform) -> None:
    task = await platform.submit()

    class FinishingFirst(InMemoryStatusStore):
        """The agent's terminal write lands just before the cancel's."""

        async def put(self, new: Task, *, create: bool = True) -> WriteResult:
            current = self.tasks[new.correlation_id]
            if new.status is TaskStatus.CANCELLED and not current.is_terminal:
                await super().put(current.evolve(status=TaskStatus.COMPLETED))
            return await super().put(new, create=create)

    live = FinishingFirst()
    live.tasks = platform.live.tasks
    service = TaskService(StorageManager(platform.rows, live), platform.queue, platform.events)
    with pytest.raises(Conflict, match="finished before") as conflict:
        await service.cancel(platform.user, task.correlation_id)
    assert conflict.value.details["task"]["status"] == "completed"
    assert platform.rows.rows[task.correlation_id].status is TaskStatus.COMPLETED


async def test_watching_yields_each_newer_version_until_the_end(platform: Platform) -> None:
    task = await platform.submit()
    started = task.evolve(status=TaskStatus.STARTED)
    done = started.evolve(status=TaskStatus.COMPLETED, result="r")
    # an event older than what was seen is skipped; a quiet interval re-reads the task
    platform.events.updates = [started, task, None]

    seen = []
    async for update in platform.service.watch(platform.user, task.correlation_id):
        seen.append(update.status)
        if update.status is TaskStatus.STARTED:
            platform.live.tasks[task.correlation_id] = done
    assert seen == [TaskStatus.PENDING, TaskStatus.STARTED, TaskStatus.COMPLETED]
