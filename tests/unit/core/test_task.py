import uuid

from euglena.messages import TaskMessage, mandates_queue_arguments
from euglena.status import TaskStatus
from euglena.task import Task, new_task


def _task() -> Task:
    return new_task(user_id=uuid.uuid4(), mandate="find X", max_ticks=3)


def test_evolve_moves_updated_at_strictly_forward_even_within_one_clock_tick() -> None:
    task = _task()
    versions = [task]
    for _ in range(50):
        versions.append(versions[-1].evolve(status=TaskStatus.IN_PROGRESS))
    stamps = [v.updated_at for v in versions]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_evolve_stamps_start_and_completion() -> None:
    started = _task().evolve(status=TaskStatus.STARTED)
    assert started.started_at is not None and started.completed_at is None
    done = started.evolve(status=TaskStatus.COMPLETED, result="42")
    assert done.completed_at is not None and done.started_at == started.started_at


def test_supersedes_respects_time_and_status_rules() -> None:
    task = _task()
    newer = task.evolve(status=TaskStatus.ACCEPTED)
    assert newer.supersedes(task)
    assert not task.supersedes(newer)
    done = newer.evolve(status=TaskStatus.COMPLETED)
    assert not done.evolve(status=TaskStatus.IN_PROGRESS).supersedes(done)


def test_json_round_trip_keeps_sortable_utc_timestamps() -> None:
    task = _task().evolve(status=TaskStatus.ACCEPTED)
    raw = task.to_json()
    assert '"updated_at":"' in raw and raw.count('Z"') >= 2
    assert Task.from_json(raw) == task


def test_message_carries_what_a_worker_needs_to_rebuild_the_task() -> None:
    task = _task()
    message = TaskMessage.from_body(TaskMessage.from_task(task).to_body())
    rebuilt = message.to_task()
    assert (rebuilt.correlation_id, rebuilt.user_id, rebuilt.mandate, rebuilt.max_ticks) == (
        task.correlation_id,
        task.user_id,
        task.mandate,
        task.max_ticks,
    )
    assert rebuilt.status is TaskStatus.PENDING


def test_queue_is_a_quorum_queue_with_a_delivery_limit_and_dead_letters() -> None:
    args = mandates_queue_arguments(3)
    assert args["x-queue-type"] == "quorum"
    assert args["x-delivery-limit"] == 3
    assert args["x-dead-letter-routing-key"] == "agent.mandates.dead"
