"""A dependency that is down gives 503 and leaves no half-written task behind."""

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from euglena_devkit.faults import TcpProxy
from euglena_devkit.local_gateway import RunningGateway

MANDATE = {"mandate": "survive an outage", "max_ticks": 2}


async def _task_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select count(*) from public.tasks"))
    finally:
        await conn.close()


async def _task_keys(redis_url: str) -> list[bytes]:
    redis = Redis.from_url(redis_url)
    try:
        return [k async for k in redis.scan_iter("task:*")]
    finally:
        await redis.aclose()


async def test_rabbitmq_down_gives_503_and_rolls_the_submission_back(
    gateway: RunningGateway, rabbitmq_server: object, redis_url: str
) -> None:
    user = await gateway.create_user(daily_tick_limit=2)
    headers = gateway.headers(user)
    rabbitmq_server.stop()  # type: ignore[attr-defined]
    try:
        response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
        assert response.status_code == 503
        assert response.json()["error"]["details"]["dependency"] == "rabbitmq"
        assert await _task_rows(gateway.dsn) == 0
        assert await _task_keys(redis_url) == []
        ready = await gateway.client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["rabbitmq"] != "ok"
    finally:
        rabbitmq_server.start()  # type: ignore[attr-defined]
    # The reserved ticks were given back: the whole quota is still available once it is back.
    response = await _submit_when_back(gateway, headers)
    assert response.status_code == 202, response.text
    assert await _task_rows(gateway.dsn) == 1


async def test_postgres_down_gives_503_and_writes_nothing(
    gateway: RunningGateway, postgres_server: object, redis_url: str
) -> None:
    user = await gateway.create_user()
    headers = gateway.headers(user)
    postgres_server.stop()  # type: ignore[attr-defined]
    try:
        response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["details"]["dependency"] == "postgres"
        assert await _task_keys(redis_url) == []
        ready = (await gateway.client.get("/ready")).json()
        assert ready["checks"]["postgres"] != "ok" and ready["checks"]["redis"] == "ok"
    finally:
        postgres_server.start()  # type: ignore[attr-defined]
    response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
    assert response.status_code == 202, response.text


async def test_redis_down_gives_503_and_leaves_no_row(
    gateway: RunningGateway, redis_server: object, redis_url: str
) -> None:
    user = await gateway.create_user(daily_tick_limit=2)
    headers = gateway.headers(user)
    redis_server.stop()  # type: ignore[attr-defined]
    try:
        response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["details"]["dependency"] == "redis"
        assert await _task_rows(gateway.dsn) == 0
        count = await gateway.client.get("/agents/count", headers=headers)
        assert count.status_code == 503 and "redis" in count.json()["error"]["message"]
    finally:
        redis_server.start()  # type: ignore[attr-defined]
    response = await _submit_when_back(gateway, headers)
    assert response.status_code == 202, response.text  # the reserved ticks were given back


async def _submit_when_back(gateway: RunningGateway, headers: dict[str, str]) -> httpx.Response:
    """Submit until the gateway's reconnect lands (bounded by the test's timeout)."""
    delay = 0.05
    while True:
        response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
        if response.status_code != 503:
            return response
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _timed_submit(gateway: RunningGateway, headers: dict[str, str]) -> tuple[int, float]:
    began = time.monotonic()
    response = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
    return response.status_code, time.monotonic() - began


async def test_a_blackholed_postgres_gives_503_within_the_dependency_timeout(
    gateway_factory: Any, postgres_proxy: TcpProxy, postgres_server: Any, redis_url: str
) -> None:
    """Postgres that stops answering holds every pooled connection; requests must still get
    503 within the dependency timeout (not queue for a connection until the 504)."""
    async with gateway_factory(
        database_url=postgres_proxy.url(postgres_server.dsn), dependency_timeout_seconds=1
    ) as gw:
        user = await gw.create_user()
        headers = gw.headers(user)
        postgres_proxy.blackhole()
        try:
            results = await asyncio.gather(*(_timed_submit(gw, headers) for _ in range(20)))
        finally:
            postgres_proxy.restore()
        assert {status for status, _ in results} == {503}, results
        assert max(elapsed for _, elapsed in results) < 8, results
        assert await _task_keys(redis_url) == []
        response = await _submit_when_back(gw, headers)
        assert response.status_code == 202, response.text


async def test_a_blackholed_redis_gives_503_and_leaves_no_row(
    gateway_factory: Any, redis_proxy: TcpProxy, redis_url: str
) -> None:
    async with gateway_factory(redis_url=redis_proxy.url(redis_url), redis_timeout_seconds=1) as gw:
        user = await gw.create_user(daily_tick_limit=2)
        headers = gw.headers(user)
        redis_proxy.blackhole()
        try:
            status, elapsed = await _timed_submit(gw, headers)
            assert status == 503 and elapsed < 5, (status, elapsed)
            assert await _task_rows(gw.dsn) == 0
        finally:
            redis_proxy.restore()
        response = await _submit_when_back(gw, headers)
        assert response.status_code == 202, response.text  # the reserved ticks were given back


async def test_with_redis_down_reads_are_served_from_postgres(
    gateway: RunningGateway, redis_server: Any
) -> None:
    """The seed: "return Supabase's copy if available" — Redis only adds newer progress."""
    user = await gateway.create_user()
    headers = gateway.headers(user)
    submitted = await gateway.client.post("/tasks", json=MANDATE, headers=headers)
    cid = submitted.json()["correlation_id"]
    redis_server.stop()
    try:
        one = await gateway.client.get(f"/tasks/{cid}", headers=headers)
        assert one.status_code == 200, one.text
        assert one.json()["status"] == "pending" and one.json()["mandate"] == MANDATE["mandate"]
        by_id = await gateway.client.get("/tasks", params={"ids": cid}, headers=headers)
        assert by_id.status_code == 200 and [
            t["correlation_id"] for t in by_id.json()["items"]
        ] == [cid]
        page = await gateway.client.get("/tasks", headers=headers)
        assert page.status_code == 200 and len(page.json()["items"]) == 1
        unknown = await gateway.client.get(f"/tasks/{uuid.uuid4()}", headers=headers)
        assert unknown.status_code == 503  # Postgres has no such task; Redis cannot be asked
        cancel = await gateway.client.post(f"/tasks/{cid}/cancel", headers=headers)
        assert cancel.status_code == 503  # agents learn of a cancel through Redis only
    finally:
        redis_server.start()
