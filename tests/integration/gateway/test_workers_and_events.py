"""Worker counting, live events and system routes."""

import asyncio
import json
import uuid

from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.adapters.redis_workers import RedisWorkers
from euglena.keys import DEFAULT_WORKER_STATUS_SET_KEY
from euglena.status import TaskStatus
from euglena.task import utcnow
from euglena.workers import WorkerStatus
from euglena_devkit.local_gateway import RunningGateway


async def test_agents_count_counts_live_workers_and_cleans_stale_entries(
    gateway: RunningGateway, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        board = RedisWorkers(redis, set_key=DEFAULT_WORKER_STATUS_SET_KEY)  # what agents write
        await board.publish(
            WorkerStatus(worker_id="alive", last_heartbeat=utcnow()), ttl_seconds=30
        )
        await redis.sadd(DEFAULT_WORKER_STATUS_SET_KEY, "crashed-1", "crashed-2")
        user = await gateway.create_user()
        response = await gateway.client.get("/agents/count", headers=gateway.headers(user))
        assert response.json() == {"count": 1}
        assert await redis.smembers(DEFAULT_WORKER_STATUS_SET_KEY) == {b"alive"}
    finally:
        await redis.aclose()


async def test_events_stream_every_status_change_until_the_task_ends(
    gateway: RunningGateway, redis_url: str
) -> None:
    user = await gateway.create_user()
    headers = gateway.headers(user)
    created = await gateway.client.post(
        "/tasks", json={"mandate": "stream me", "max_ticks": 3}, headers=headers
    )
    cid = uuid.UUID(created.json()["correlation_id"])
    redis = Redis.from_url(redis_url)
    store = RedisStatusStore(redis)
    seen: list[str] = []

    async def listen() -> None:
        async with gateway.client.stream("GET", f"/tasks/{cid}/events", headers=headers) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:])["status"])

    async def work() -> None:
        task = await store.get(cid)
        assert task is not None
        for status in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED):
            while len(seen) < 1:
                await asyncio.sleep(0.01)
            task = task.evolve(status=status, result="done" if status.is_terminal else None)
            await store.put(task)

    try:
        await asyncio.wait_for(asyncio.gather(listen(), work()), timeout=30)
    finally:
        await redis.aclose()
    assert seen[0] == "pending" and seen[-1] == "completed"
    assert seen == sorted(seen, key=lambda s: TaskStatus(s).rank)


async def test_health_ready_and_metrics(gateway: RunningGateway) -> None:
    assert (await gateway.client.get("/health")).json() == {"status": "ok"}
    ready = await gateway.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "postgres": "ok", "rabbitmq": "ok"}
    user = await gateway.create_user()
    await gateway.client.post(
        "/tasks", json={"mandate": "m", "max_ticks": 1}, headers=gateway.headers(user)
    )
    text = (await gateway.client.get("/metrics")).text
    assert 'euglena_gateway_submissions_total{source="api"} 1.0' in text
    assert 'euglena_gateway_requests_total{code="202",method="POST",route="/tasks"}' in text
    assert "euglena_gateway_request_duration_seconds_bucket" in text
