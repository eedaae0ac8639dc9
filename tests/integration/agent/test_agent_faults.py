"""Faults: poison messages, cancellation, kill -9 and SIGTERM of real worker processes."""

from __future__ import annotations

import json
import time

from agent_harness import DELIVERY_LIMIT, AgentHarness

from euglena.keys import worker_status_key
from euglena.status import TaskStatus
from euglena_devkit.fakes import tool
from euglena_devkit.waiting import until


async def test_poison_message_is_dead_lettered_and_its_task_fails(agents: AgentHarness) -> None:
    await agents.start_worker()
    task = agents.task("A mandate from a newer gateway")
    await agents.store.put(task)
    body = {**json.loads(_message_body(task)), "version": 99}
    await agents.publish_body(json.dumps(body).encode(), str(task.correlation_id))

    done = await agents.finished(task)

    assert done.status is TaskStatus.FAILED
    assert done.error == (
        f"dead-lettered after {DELIVERY_LIMIT} delivery attempts: no worker could process this task"
    )
    assert agents.llm.prompts("newer gateway") == []


async def test_unreadable_message_is_dead_lettered_at_once(agents: AgentHarness) -> None:
    await agents.start_worker()
    task = agents.task("Body got mangled in transit")
    await agents.store.put(task)
    await agents.publish_body(b"\x00not json", str(task.correlation_id))

    done = await agents.finished(task)

    assert done.status is TaskStatus.FAILED
    assert done.error is not None and done.error.startswith("dead-lettered as unreadable")


async def test_cancellation_stops_the_loop_within_one_tick(agents: AgentHarness) -> None:
    mandate = "Count sheep slowly"
    agents.llm.script(mandate, [tool("think", thought="One more sheep.", delay=0.3)])
    worker = await agents.start_worker()
    task = await agents.submit(agents.task(mandate, max_ticks=50))
    running = await agents.wait(task, lambda t: t.ticks >= 2)

    # what the gateway's POST /tasks/{id}/cancel does
    await agents.store.put(running.evolve(status=TaskStatus.CANCELLED))
    requests_at_cancel = len(agents.llm.prompts(mandate))
    await until(
        lambda: _value(worker.metric("euglena_agent_tasks_total", outcome="cancelled")),
        holds=lambda n: n == 1,
    )

    assert len(agents.llm.prompts(mandate)) <= requests_at_cancel + 1
    stored = await agents.get(task)
    assert stored is not None and stored.status is TaskStatus.CANCELLED
    await until(
        lambda: agents.redis.get(worker_status_key(worker.id)),
        holds=lambda raw: raw is not None and json.loads(raw)["state"] == "idle",
    )


async def test_kill_9_mid_task_another_worker_completes_it(agents: AgentHarness) -> None:
    mandate = "Survive a crash"
    steps = [tool("think", thought=f"step {i}", delay=0.2) for i in range(6)]
    agents.llm.script(mandate, [*steps, tool("exit", answer="Survived.")])
    workers = await agents.spawn_workers(2)
    task = await agents.submit(agents.task(mandate, max_ticks=20))
    running = await agents.wait(task, lambda t: t.ticks >= 2)
    first, second = sorted(workers, key=lambda w: w.id != running.worker_id)

    first.kill()

    done = await agents.finished(task, timeout=60)
    assert done.status is TaskStatus.COMPLETED and done.result == "Survived."
    assert done.worker_id == second.id
    # exactly one completion: the survivor counted one, and nothing is left in the queue
    assert await _completed_count(second.health_url) == 1
    # the dead worker's heartbeat expires within its TTL (3 heartbeats of 0.5 s)
    started = time.monotonic()
    await until(
        lambda: agents.redis.exists(worker_status_key(first.id)), holds=lambda n: n == 0, timeout=5
    )
    assert time.monotonic() - started < 2.0


async def test_sigterm_mid_task_finishes_within_grace(agents: AgentHarness) -> None:
    mandate = "Finish before leaving"
    agents.llm.script(
        mandate,
        [tool("think", thought="a", delay=0.3), tool("think", thought="b", delay=0.3),
         tool("exit", answer="Finished.", delay=0.3)],
    )  # fmt: skip
    worker = await agents.spawn_worker(shutdown_grace_seconds=20)
    task = await agents.submit(agents.task(mandate))
    await agents.wait(task, lambda t: t.ticks >= 1)

    worker.terminate()

    assert await worker.exited() == 0
    done = await agents.finished(task)
    assert done.status is TaskStatus.COMPLETED and done.worker_id == worker.id
    assert await agents.redis.exists(worker_status_key(worker.id)) == 0


async def test_sigterm_past_grace_requeues_to_another_worker(agents: AgentHarness) -> None:
    mandate = "Too long to finish on shutdown"
    steps = [tool("think", thought=f"step {i}", delay=0.3) for i in range(8)]
    agents.llm.script(mandate, [*steps, tool("exit", answer="Done elsewhere.")])
    workers = await agents.spawn_workers(2, shutdown_grace_seconds=0.5)
    task = await agents.submit(agents.task(mandate, max_ticks=20))
    running = await agents.wait(task, lambda t: t.ticks >= 1)
    leaving, staying = sorted(workers, key=lambda w: w.id != running.worker_id)

    leaving.terminate()

    assert await leaving.exited() == 0
    done = await agents.finished(task, timeout=60)
    assert done.status is TaskStatus.COMPLETED and done.result == "Done elsewhere."
    assert done.worker_id == staying.id


async def _value(number: float) -> float:
    return number


async def _completed_count(health_url: str) -> float:
    import httpx

    async with httpx.AsyncClient() as client:
        text = (await client.get(health_url + "/metrics")).text
    for line in text.splitlines():
        if line.startswith('euglena_agent_tasks_total{outcome="completed"}'):
            return float(line.split()[-1])
    return 0.0


def _message_body(task: object) -> bytes:
    from euglena.messages import TaskMessage
    from euglena.task import Task

    assert isinstance(task, Task)
    return TaskMessage.from_task(task).to_body()
