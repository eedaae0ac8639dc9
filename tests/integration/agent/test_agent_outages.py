"""Outages of the real services under a running worker process: RabbitMQ restarts, Redis goes
away mid-task. The worker rides them out and no task is lost."""

from __future__ import annotations

import asyncio

from agent_harness import AgentHarness

from euglena.status import TaskStatus
from euglena_devkit.fakes import tool
from euglena_devkit.services import RabbitMQServer, RedisServer
from euglena_devkit.waiting import until


async def test_worker_keeps_consuming_after_a_rabbitmq_restart(
    agents: AgentHarness, rabbitmq_server: RabbitMQServer
) -> None:
    worker = await agents.spawn_worker()
    before = await agents.finished(await agents.submit(agents.task("Before the restart")))
    assert before.status is TaskStatus.COMPLETED

    await asyncio.to_thread(rabbitmq_server.stop)
    await asyncio.to_thread(rabbitmq_server.start)
    await agents.reset_publisher()
    after = await agents.submit(agents.task("After the restart"))

    done = await agents.finished(after, timeout=60)
    assert done.status is TaskStatus.COMPLETED and done.worker_id == worker.id
    assert (await worker.health())["rabbitmq"] == "connected"
    assert worker.proc.poll() is None


async def test_redis_outage_mid_task_buffers_status_and_the_task_completes(
    agents: AgentHarness, redis_server: RedisServer
) -> None:
    mandate = "Keep going while Redis is away"
    steps = [tool("think", thought=f"step {i}", delay=0.2) for i in range(4)]
    agents.llm.script(mandate, [*steps, tool("exit", answer="Made it.")])
    worker = await agents.spawn_worker()
    task = await agents.submit(agents.task(mandate, max_ticks=10))
    await agents.wait(task, lambda t: t.ticks >= 1)

    await asyncio.to_thread(redis_server.stop)
    # the loop goes on without Redis: the model is asked until it answers
    await until(
        lambda: _count(agents.llm.prompts(mandate)),
        holds=lambda n: n == 5,
        timeout=60,
        interval=0.1,
    )
    health = await worker.health()
    assert health["pending_status_updates"] >= 1 and worker.proc.poll() is None
    await asyncio.to_thread(redis_server.start)

    done = await agents.finished(task, timeout=60)
    assert done.status is TaskStatus.COMPLETED and done.result == "Made it."
    assert done.ticks == 5 and done.worker_id == worker.id
    assert worker.proc.poll() is None
    assert (await worker.health())["pending_status_updates"] == 0


async def _count(prompts: list[str]) -> int:
    return len(prompts)
