"""The seed's sync rules between Redis (real-time) and Postgres (what users see)."""

import uuid
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.keys import TASK_TTL_SECONDS, task_key
from euglena.status import TaskStatus
from euglena.task import Task
from euglena_devkit.local_gateway import RunningGateway
from euglena_devkit.waiting import until


async def _submit(gateway: RunningGateway, user: uuid.UUID, ticks: int = 3) -> uuid.UUID:
    response = await gateway.client.post(
        "/tasks",
        json={"mandate": "find the answer", "max_ticks": ticks},
        headers=gateway.headers(user),
    )
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["correlation_id"])


async def _live(store: RedisStatusStore, cid: uuid.UUID) -> Task:
    """The task as Redis holds it (submission writes it there first)."""
    task = await store.get(cid)
    assert task is not None, f"task {cid} is not in Redis"
    return task


async def _row(dsn: str, cid: uuid.UUID) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow("select * from public.tasks where correlation_id = $1", cid)
    finally:
        await conn.close()


@pytest.fixture
async def redis(redis_url: str):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_a_submission_is_recorded_in_redis_and_postgres_then_queued(
    gateway: RunningGateway, redis: Redis
) -> None:
    user = await gateway.create_user()
    cid = await _submit(gateway, user)
    live = Task.from_json(await redis.get(task_key(cid)))
    row = await _row(gateway.dsn, cid)
    assert live.status is TaskStatus.PENDING and row["status"] == "pending"
    assert row["user_id"] == user and live.user_id == user
    assert TASK_TTL_SECONDS - 5 < await redis.ttl(task_key(cid)) <= TASK_TTL_SECONDS


async def test_the_ttl_is_refreshed_by_every_status_write(
    gateway: RunningGateway, redis: Redis
) -> None:
    cid = await _submit(gateway, await gateway.create_user())
    await redis.expire(task_key(cid), 30)
    store = RedisStatusStore(redis)
    current = await _live(store, cid)
    await store.put(current.evolve(status=TaskStatus.ACCEPTED))
    assert await redis.ttl(task_key(cid)) > TASK_TTL_SECONDS - 5


async def test_newer_redis_progress_is_copied_to_postgres_on_read(
    gateway: RunningGateway, redis: Redis
) -> None:
    user = await gateway.create_user()
    cid = await _submit(gateway, user)
    store = RedisStatusStore(redis)
    current = await _live(store, cid)
    progress = current.evolve(status=TaskStatus.IN_PROGRESS, ticks=2, worker_id="w-1")
    assert (await store.put(progress)).applied

    body = (await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(user))).json()
    assert (body["status"], body["ticks"], body["worker_id"]) == ("in_progress", 2, "w-1")
    row = await _row(gateway.dsn, cid)
    assert (row["status"], row["ticks"]) == ("in_progress", 2)
    assert await redis.exists(task_key(cid)), "an open task stays in Redis"


async def test_a_terminal_task_is_persisted_then_removed_from_redis(
    gateway: RunningGateway, redis: Redis
) -> None:
    user = await gateway.create_user()
    cid = await _submit(gateway, user)
    store = RedisStatusStore(redis)
    current = await _live(store, cid)
    await store.put(current.evolve(status=TaskStatus.COMPLETED, ticks=3, result="42"))

    body = (await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(user))).json()
    assert (body["status"], body["result"]) == ("completed", "42")
    assert not await redis.exists(task_key(cid))
    row = await _row(gateway.dsn, cid)
    assert (row["status"], row["result"]) == ("completed", "42")
    again = (await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(user))).json()
    assert again == body, "later reads are served from Postgres alone"


async def test_stale_redis_data_never_shows_over_newer_postgres_data(
    gateway: RunningGateway, redis: Redis
) -> None:
    user = await gateway.create_user()
    cid = await _submit(gateway, user)
    store = RedisStatusStore(redis)
    pending = await _live(store, cid)
    done = pending.evolve(status=TaskStatus.COMPLETED, result="first answer")
    await store.put(done)
    await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(user))
    # A late writer re-creates the key with an older, non-terminal version.
    late = pending.evolve(status=TaskStatus.IN_PROGRESS, ticks=1)
    await redis.set(task_key(cid), late.to_json(), ex=600)

    headers = gateway.headers(user)
    body = (await gateway.client.get(f"/tasks/{cid}", headers=headers)).json()
    assert (body["status"], body["result"]) == ("completed", "first answer")
    listed = (await gateway.client.get("/tasks", headers=headers)).json()["items"]
    assert [(t["status"], t["result"]) for t in listed] == [("completed", "first answer")]
    row = await _row(gateway.dsn, cid)
    assert (row["status"], row["result"]) == ("completed", "first answer")


async def test_status_writes_are_compare_and_set(redis: Redis, gateway: RunningGateway) -> None:
    cid = await _submit(gateway, await gateway.create_user())
    store = RedisStatusStore(redis)
    pending = await _live(store, cid)
    started = pending.evolve(status=TaskStatus.STARTED)
    assert (await store.put(started)).applied
    assert not (await store.put(pending.evolve(status=TaskStatus.ACCEPTED))).applied
    cancelled = started.evolve(status=TaskStatus.CANCELLED)
    assert (await store.put(cancelled)).applied
    refused = await store.put(cancelled.evolve(status=TaskStatus.COMPLETED))
    assert not refused.applied and refused.current is not None
    assert refused.current.status is TaskStatus.CANCELLED


async def test_a_finished_task_nobody_reads_is_persisted_before_redis_forgets_it(
    gateway_factory: Any, redis: Redis
) -> None:
    async with gateway_factory(settle_interval_seconds=0.2, settle_after_seconds=0) as gateway:
        user = await gateway.create_user()
        done_id, open_id = await _submit(gateway, user), await _submit(gateway, user)
        store = RedisStatusStore(redis)
        done, running = await _live(store, done_id), await _live(store, open_id)
        await store.put(done.evolve(status=TaskStatus.COMPLETED, ticks=2, result="unread"))
        await store.put(running.evolve(status=TaskStatus.IN_PROGRESS, ticks=1))
        await redis.set(task_key(uuid.uuid4()), b'{"written by": "something else"}', ex=60)

        row = await until(
            lambda: _row(gateway.dsn, done_id),
            holds=lambda r: r["status"] == "completed",
            timeout=10,
        )
        assert (row["result"], row["ticks"]) == ("unread", 2)
        assert not await redis.exists(task_key(done_id))
        # The same pass saw the open task and left it to its readers.
        assert (await _row(gateway.dsn, open_id))["status"] == "pending"
        assert await redis.exists(task_key(open_id))


async def test_a_finished_task_whose_row_is_missing_is_created_in_postgres(
    gateway_factory: Any, redis: Redis
) -> None:
    """The seed's "creates if missing": a finished task Redis holds without a Postgres row
    (e.g. a publish that looked refused but was queued after all) is written to Postgres,
    counted against its owner's quota, and removed from Redis — on read and by the settler."""
    async with gateway_factory(settle_interval_seconds=0.2, settle_after_seconds=0) as gateway:
        user = await gateway.create_user(daily_tick_limit=10)
        store = RedisStatusStore(redis)
        read, unread = (
            Task.model_validate(
                {
                    "correlation_id": uuid.uuid4(),
                    "user_id": user,
                    "mandate": "ran without a row",
                    "max_ticks": 5,
                    "created_at": "2026-12-01T10:00:00Z",
                    "updated_at": "2026-12-01T10:00:00Z",
                }
            ).evolve(status=TaskStatus.COMPLETED, ticks=3, result=f"answer {n}")
            for n in (1, 2)
        )
        for task in (read, unread):
            await store.put(task)

        got = await gateway.client.get(
            f"/tasks/{read.correlation_id}", headers=gateway.headers(user)
        )
        assert got.status_code == 200 and got.json()["result"] == "answer 1"
        row = await _row(gateway.dsn, read.correlation_id)
        assert row is not None and (row["status"], row["ticks"]) == ("completed", 3)
        assert not await redis.exists(task_key(read.correlation_id))

        settled = await until(
            lambda: _row(gateway.dsn, unread.correlation_id), timeout=10, what="the settler"
        )
        assert (settled["status"], settled["result"]) == ("completed", "answer 2")
        assert not await redis.exists(task_key(unread.correlation_id))
        listed = await gateway.client.get("/tasks", headers=gateway.headers(user))
        assert {t["correlation_id"] for t in listed.json()["items"]} == {
            str(read.correlation_id),
            str(unread.correlation_id),
        }
