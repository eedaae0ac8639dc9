"""Outages of the real services under a running worker process: RabbitMQ restarts, Redis goes
away mid-task. The worker rides them out and no task is lost."""

from __future__ import annotations

import asyncio

from agent_harness import AgentHarness

from euglena.status import TaskStatus
from euglena_devkit.fakes import tool
from euglena_devkit.faults import TcpProxy
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


async def test_a_worker_started_before_its_dependencies_waits_for_them(
    agents: AgentHarness, rabbitmq_server: RabbitMQServer, redis_server: RedisServer
) -> None:
    """A fresh install starts every pod at once, and a new pod's network policy may take a
    moment to apply: an agent that cannot reach RabbitMQ or Redis yet waits for them (a warning
    per attempt, no traceback, no exit into a restart back-off), then consumes."""
    # Nothing listens on a proxy's address until it is started.
    broker, redis = TcpProxy(rabbitmq_server.port), TcpProxy(redis_server.port)
    try:
        worker = agents.launch_worker(
            rabbitmq_url=broker.url(agents.amqp_url), redis_url=redis.url(agents.redis_url)
        )
        await until(
            lambda: worker.log().count("RabbitMQ is not reachable yet"),
            holds=lambda attempts: attempts >= 2,
            timeout=30,
            interval=0.1,
        )
        assert worker.proc.poll() is None, worker.log()
        assert (await worker.health())["rabbitmq"] == "disconnected"

        redis.start()
        broker.start()
        await worker.ready()
        done = await agents.finished(await agents.submit(agents.task("Once the broker is up")))
        assert done.status is TaskStatus.COMPLETED and done.worker_id == worker.id
        assert "Traceback" not in worker.log()
    finally:
        broker.close()
        redis.close()


async def test_a_worker_whose_broker_is_gone_still_shuts_down(
    agents: AgentHarness, rabbitmq_server: RabbitMQServer
) -> None:
    """``helm uninstall`` removes RabbitMQ with the agents: a SIGTERM'd worker must not wait for
    a reconnection that never comes (its pod would hang in Terminating for the whole grace
    period)."""
    broker = TcpProxy(rabbitmq_server.port).start()
    try:
        worker = await agents.spawn_worker(rabbitmq_url=broker.url(agents.amqp_url))
        broker.close()  # the broker's address stops answering for good
        worker.terminate()
        assert await worker.exited(timeout=60) == 0, worker.log()
    finally:
        broker.close()


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


async def test_a_blackholed_redis_mid_task_is_ridden_out_like_a_stopped_one(
    agents: AgentHarness, redis_proxy: TcpProxy
) -> None:
    """A Redis that stops answering (nothing refused, nothing closed) must not stall the worker:
    each call gives up within its timeout (at most one heartbeat, 0.5 s here), progress is
    buffered, the loop keeps its pace, and the task completes once Redis answers again — as
    when Redis is stopped. (With the client library's default 5 s per call, the first buffered
    write alone took its five attempts × 5 s.)"""
    mandate = "Keep going while Redis says nothing"
    steps = [tool("think", thought=f"step {i}", delay=1.0) for i in range(4)]
    agents.llm.script(mandate, [*steps, tool("exit", answer="Made it anyway.")])
    worker = await agents.spawn_worker(redis_url=redis_proxy.url(agents.redis_url))
    task = await agents.submit(agents.task(mandate, max_ticks=10))
    await agents.wait(task, lambda t: t.ticks >= 1)

    redis_proxy.blackhole()
    # four more replies, 1 s each: the loop must not wait much longer than that for Redis
    await until(
        lambda: _count(agents.llm.prompts(mandate)),
        holds=lambda n: n == 5,
        timeout=15,
        interval=0.1,
    )
    health = await worker.health()
    assert health["pending_status_updates"] >= 1 and worker.proc.poll() is None
    redis_proxy.restore()

    done = await agents.finished(task, timeout=60)
    assert done.status is TaskStatus.COMPLETED and done.result == "Made it anyway."
    assert done.ticks == 5 and done.worker_id == worker.id
    assert (await worker.health())["pending_status_updates"] == 0
