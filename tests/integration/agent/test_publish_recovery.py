"""Nothing is lost between recording a task and queueing it, and nothing runs as a ghost.

A submission writes the task to Postgres (reserving its ticks) and Redis, then publishes it
and waits for the broker's confirm. These are the gaps in that sequence, on real services with
a real worker: a gateway that died before publishing, a confirm that never came although the
message may be queued, and a task that could not be queued for too long.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from agent_harness import AgentHarness

from euglena.task import Task, new_task, utcnow
from euglena_devkit.fakes import tool
from euglena_devkit.faults import TcpProxy
from euglena_devkit.services import RedisServer
from euglena_devkit.waiting import until

FAST_RECOVERY = {
    "requeue_after_seconds": 1.5,
    "reconcile_interval_seconds": 0.2,
    "dependency_timeout_seconds": 1,
}


async def _row(dsn: str, cid: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(
            "select status, result, error, ticks from public.tasks where correlation_id = $1",
            uuid.UUID(cid),
        )
    finally:
        await conn.close()


def _task(cid: str) -> Task:
    """Enough of a task for the harness to read its live copy by id."""
    return new_task(user_id=uuid.uuid4(), mandate="-", max_ticks=1).model_copy(
        update={"correlation_id": uuid.UUID(cid)}
    )


async def _used_today(dsn: str, user: uuid.UUID) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("select ticks_used_today from public.profiles where id = $1", user)
        )
    finally:
        await conn.close()


async def _recorded_but_never_published(dsn: str, user: uuid.UUID, mandate: str, age: float) -> str:
    """What a gateway that died right after the Postgres insert leaves behind."""
    task = new_task(user_id=user, mandate=mandate, max_ticks=4)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "select public.submit_task($1, $2, $3, $4, 'api', $5)",
            task.correlation_id,
            user,
            mandate,
            task.max_ticks,
            utcnow() - timedelta(seconds=age),
        )
    finally:
        await conn.close()
    return str(task.correlation_id)


async def _finished(gw: Any, user: uuid.UUID, cid: str, timeout: float = 60) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        response = await gw.client.get(f"/tasks/{cid}", headers=gw.headers(user))
        body: dict[str, Any] = response.json()
        return body

    return await until(
        read, timeout, f"task {cid} to finish", holds=lambda t: t.get("completed_at")
    )


async def test_a_task_recorded_by_a_gateway_that_died_before_publishing_runs(
    gateway_factory: Any, agents: AgentHarness
) -> None:
    mandate = "Left behind by a crash"
    agents.llm.script(mandate, [tool("exit", answer="Picked up again.")])
    async with gateway_factory(**FAST_RECOVERY) as gw:
        await agents.start_worker(delivery_limit=gw.settings.delivery_limit)
        user = await gw.create_user(daily_tick_limit=10)
        cid = await _recorded_but_never_published(gw.dsn, user, mandate, age=0)

        done = await _finished(gw, user, cid)

    assert (done["status"], done["result"]) == ("completed", "Picked up again.")
    assert len(agents.llm.prompts(mandate)) == 1
    assert await _used_today(gw.dsn, user) == 1  # the ticks it did not use came back


async def test_a_task_that_cannot_be_queued_for_too_long_fails_and_gives_its_ticks_back(
    gateway_factory: Any,
) -> None:
    async with gateway_factory(**FAST_RECOVERY, queue_give_up_seconds=5) as gw:
        user = await gw.create_user(daily_tick_limit=10)
        cid = await _recorded_but_never_published(gw.dsn, user, "Too late", age=6)

        done = await _finished(gw, user, cid, timeout=30)

    assert done["status"] == "failed" and "could not be queued" in done["error"]
    assert await _used_today(gw.dsn, user) == 0


async def test_a_publish_whose_confirm_never_came_runs_once_and_its_result_is_kept(
    gateway_factory: Any, agents: AgentHarness, rabbitmq_proxy: TcpProxy, rabbitmq_vhost: str
) -> None:
    """The broker stops answering while the message is on its way: it may or may not be
    queued. The submission is kept (not rolled back into a ghost that runs unrecorded), the
    task runs exactly once, and its result reaches Postgres."""
    mandate = "Sent into silence"
    agents.llm.script(mandate, [tool("exit", answer="It ran once.")])
    proxied = rabbitmq_proxy.url(rabbitmq_vhost)
    async with gateway_factory(rabbitmq_url=proxied, **FAST_RECOVERY) as gw:
        await agents.start_worker(delivery_limit=gw.settings.delivery_limit)
        user = await gw.create_user(daily_tick_limit=10)
        rabbitmq_proxy.blackhole()
        try:
            response = await gw.client.post(
                "/tasks", json={"mandate": mandate, "max_ticks": 3}, headers=gw.headers(user)
            )
        finally:
            rabbitmq_proxy.restore()
        assert response.status_code == 202, response.text
        cid = response.json()["correlation_id"]

        done = await _finished(gw, user, cid)
        row = await _row(gw.dsn, cid)

    assert (done["status"], done["result"]) == ("completed", "It ran once.")
    assert row is not None and (row["status"], row["result"]) == ("completed", "It ran once.")
    assert len(agents.llm.prompts(mandate)) == 1


async def test_a_result_lost_with_a_redis_restart_is_produced_again(
    gateway_factory: Any, agents: AgentHarness, redis_server: RedisServer
) -> None:
    """Redis without persistence restarts after a task finished there but before its result
    reached Postgres: the gateway sees the open task's live copy is gone, queues it again, and
    the result is produced again instead of the task staying open forever."""
    mandate = "Finished just before the restart"
    agents.llm.script(mandate, [tool("exit", answer="Said twice, kept once.")])
    settings = {**FAST_RECOVERY, "settle_after_seconds": 300}
    async with gateway_factory(**settings) as gw:
        await agents.start_worker(delivery_limit=gw.settings.delivery_limit)
        user = await gw.create_user(daily_tick_limit=10)
        response = await gw.client.post(
            "/tasks", json={"mandate": mandate, "max_ticks": 3}, headers=gw.headers(user)
        )
        cid = response.json()["correlation_id"]
        await agents.wait(_task(cid), lambda t: t.is_terminal)
        await asyncio.to_thread(redis_server.stop)
        await asyncio.to_thread(redis_server.start)

        done = await _finished(gw, user, cid)

    assert (done["status"], done["result"]) == ("completed", "Said twice, kept once.")
    assert len(agents.llm.prompts(mandate)) == 2
