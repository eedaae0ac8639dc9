"""MandateService's decisions on in-memory Redis: claim, run, final status, cancel, dead letters."""

from __future__ import annotations

import asyncio

import pytest
from agent_doubles import DownModel, ScriptedModel, Worker, answer, submitted, think

from euglena.messages import TaskMessage
from euglena.status import TaskStatus
from euglena.workers import WorkerState
from euglena_agent.errors import StatusUnavailable, UnsupportedMessage
from euglena_agent.mandates import Outcome
from euglena_agent.ports import ModelRequest


async def test_a_mandate_is_claimed_run_and_completed_before_its_ack() -> None:
    worker = Worker(ScriptedModel(think(), answer("the lark")))
    task, message = submitted()
    assert await worker.service.handle(message) is Outcome.ACK
    done = worker.stored(task)
    assert (done.status, done.result, done.ticks) == (TaskStatus.COMPLETED, "the lark", 2)
    assert done.worker_id == "worker-1" and done.started_at is not None
    assert worker.presence.state is WorkerState.IDLE and worker.presence.processed == 1
    assert worker.count("completed") == 1


async def test_the_worker_is_busy_while_it_holds_the_task() -> None:
    seen: list[WorkerState] = []

    async def observe(_: ModelRequest) -> None:
        seen.append(worker.presence.state)

    worker = Worker(ScriptedModel(answer("done"), before=observe))
    await worker.service.handle(submitted()[1])
    assert seen == [WorkerState.BUSY]
    assert worker.presence.status().in_flight == 0


async def test_a_redelivered_finished_task_is_acked_without_running_again() -> None:
    worker = Worker(ScriptedModel(answer("again?")))
    task, message = submitted()
    worker.status_store.tasks[task.correlation_id] = task.evolve(
        status=TaskStatus.COMPLETED, result="first"
    )
    assert await worker.service.handle(message) is Outcome.ACK
    assert worker.model.requests == [] and worker.stored(task).result == "first"


async def test_a_redelivered_running_task_continues_on_this_worker() -> None:
    worker = Worker(ScriptedModel(answer("resumed")))
    task, message = submitted()
    elsewhere = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=2, worker_id="crashed")
    worker.status_store.tasks[task.correlation_id] = elsewhere
    await worker.service.handle(message)
    done = worker.stored(task)
    assert (done.status, done.worker_id, done.result) == (
        TaskStatus.COMPLETED,
        "worker-1",
        "resumed",
    )


async def test_a_second_copy_of_a_message_whose_task_is_claimed_is_dropped() -> None:
    worker = Worker(ScriptedModel(answer("twice?")))
    task, message = submitted()
    running = task.evolve(status=TaskStatus.IN_PROGRESS, ticks=1, worker_id="worker-2")
    worker.status_store.tasks[task.correlation_id] = running
    assert await worker.service.handle(message, redelivered=False) is Outcome.ACK
    assert worker.model.requests == [] and worker.stored(task) == running


async def test_a_first_delivery_of_an_unclaimed_task_runs() -> None:
    worker = Worker(ScriptedModel(answer("once")))
    task, message = submitted()
    assert await worker.service.handle(message, redelivered=False) is Outcome.ACK
    assert worker.stored(task).result == "once"


async def test_a_task_cancelled_between_ticks_stops_and_keeps_its_cancel() -> None:
    task, message = submitted(max_ticks=10)

    async def cancel_during_tick_2(request: ModelRequest) -> None:
        if request.context.tick == 2:  # what the gateway's cancel writes meanwhile
            current = worker.stored(task)
            worker.status_store.tasks[task.correlation_id] = current.evolve(
                status=TaskStatus.CANCELLED, error="cancelled at the owner's request"
            )

    worker = Worker(ScriptedModel(before=cancel_during_tick_2))  # would think until max_ticks
    assert await worker.service.handle(message) is Outcome.ACK
    assert len(worker.model.requests) == 2
    assert worker.stored(task).status is TaskStatus.CANCELLED
    assert worker.count("cancelled") == 1 and worker.presence.state is WorkerState.IDLE


async def test_an_unreachable_model_fails_the_task_and_acks() -> None:
    worker = Worker(DownModel())
    task, message = submitted()
    assert await worker.service.handle(message) is Outcome.ACK
    failed = worker.stored(task)
    assert failed.status is TaskStatus.FAILED and "unreachable" in (failed.error or "")


async def test_a_task_over_its_time_budget_fails() -> None:
    async def slow(_: ModelRequest) -> None:
        await asyncio.sleep(1)

    worker = Worker(ScriptedModel(before=slow), task_timeout=0.05)
    task, message = submitted()
    await worker.service.handle(message)
    assert worker.stored(task).status is TaskStatus.FAILED
    assert worker.stored(task).error == "timed out after 0.05 s"


async def test_without_redis_the_claim_fails_so_the_message_is_requeued() -> None:
    worker = Worker(ScriptedModel(answer("never")))
    worker.status_store.down = True
    with pytest.raises(StatusUnavailable):
        await worker.service.handle(submitted()[1])
    assert worker.model.requests == [] and worker.presence.state is WorkerState.IDLE


async def test_a_message_of_a_newer_schema_is_not_handled() -> None:
    worker = Worker(ScriptedModel(answer("never")))
    _, message = submitted()
    newer = TaskMessage.model_validate({**message.model_dump(), "version": 99})
    with pytest.raises(UnsupportedMessage):
        await worker.service.handle(newer)
    assert worker.status_store.tasks == {}


async def test_a_dead_lettered_task_fails_unless_it_already_ended() -> None:
    worker = Worker(ScriptedModel())
    task, message = submitted()
    await worker.service.dead_letter(message.to_body(), str(task.correlation_id), "after 5 tries")
    failed = worker.stored(task)
    assert failed.status is TaskStatus.FAILED and failed.error is not None
    assert failed.error.startswith("dead-lettered after 5 tries")

    finished, finished_message = submitted()
    done = finished.evolve(status=TaskStatus.COMPLETED, result="r")
    worker.status_store.tasks[finished.correlation_id] = done
    await worker.service.dead_letter(finished_message.to_body(), None, "after 5 tries")
    assert worker.stored(finished) == done
    assert worker.count("dead_lettered") == 1


async def test_a_dead_letter_naming_no_task_is_dropped() -> None:
    worker = Worker(ScriptedModel())
    await worker.service.dead_letter(b"not json", "not-a-uuid", "as unreadable")
    assert worker.status_store.tasks == {}
