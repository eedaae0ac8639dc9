"""Daily quota under concurrency, and row-level security through the API and in SQL."""

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.status import TaskStatus
from euglena_devkit.local_gateway import RunningGateway


async def test_twenty_concurrent_submissions_cannot_jointly_exceed_the_quota(
    gateway: RunningGateway,
) -> None:
    user = await gateway.create_user(daily_tick_limit=50)
    headers = gateway.headers(user)

    async def submit() -> int:
        response = await gateway.client.post(
            "/tasks", json={"mandate": "count", "max_ticks": 5}, headers=headers
        )
        return response.status_code

    codes = await asyncio.gather(*(submit() for _ in range(20)))
    assert sorted(codes) == [202] * 10 + [429] * 10

    conn = await asyncpg.connect(gateway.dsn)
    try:
        reserved = await conn.fetchval(
            "select coalesce(sum(max_ticks), 0) from public.tasks where user_id = $1", user
        )
    finally:
        await conn.close()
    assert reserved == 50


async def test_a_refusal_says_how_much_is_used_and_allowed(gateway: RunningGateway) -> None:
    user = await gateway.create_user(daily_tick_limit=4)
    headers = gateway.headers(user)
    ok = await gateway.client.post("/tasks", json={"mandate": "a", "max_ticks": 3}, headers=headers)
    assert ok.status_code == 202
    refused = await gateway.client.post(
        "/tasks", json={"mandate": "b", "max_ticks": 2}, headers=headers
    )
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {"used": 3, "limit": 4, "requested": 2}
    metrics = (await gateway.client.get("/metrics")).text
    assert "euglena_gateway_quota_rejections_total 1.0" in metrics


async def test_ticks_a_task_did_not_use_are_given_back_when_it_ends(
    gateway: RunningGateway, redis_url: str
) -> None:
    user = await gateway.create_user(daily_tick_limit=10)
    headers = gateway.headers(user)

    async def submit(ticks: int) -> httpx.Response:
        return await gateway.client.post(
            "/tasks", json={"mandate": "m", "max_ticks": ticks}, headers=headers
        )

    first = await submit(10)
    assert first.status_code == 202
    assert (await submit(1)).status_code == 429

    # An agent finishes the task after 4 of its 10 ticks; the next read syncs it.
    redis = Redis.from_url(redis_url)
    try:
        store = RedisStatusStore(redis)
        task = await store.get(uuid.UUID(first.json()["correlation_id"]))
        assert task is not None
        await store.put(task.evolve(status=TaskStatus.COMPLETED, ticks=4, result="done"))
    finally:
        await redis.aclose()
    read = await gateway.client.get(f"/tasks/{task.correlation_id}", headers=headers)
    assert read.json()["status"] == "completed"

    assert (await submit(7)).status_code == 429, "the 4 ticks spent still count"
    second = await submit(6)
    assert second.status_code == 202
    # Cancelled before any agent took it: all of its ticks come back.
    cancelled = await gateway.client.post(
        f"/tasks/{second.json()['correlation_id']}/cancel", headers=headers
    )
    assert cancelled.status_code == 202
    refused = await submit(7)
    assert refused.json()["error"]["details"]["used"] == 4
    assert (await submit(6)).status_code == 202


async def test_users_see_only_their_own_tasks_through_the_api(gateway: RunningGateway) -> None:
    alice, bob = await gateway.create_user(), await gateway.create_user()
    created = await gateway.client.post(
        "/tasks",
        json={"mandate": "alice's secret", "max_ticks": 1},
        headers=gateway.headers(alice),
    )
    cid = created.json()["correlation_id"]

    assert (
        await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(bob))
    ).status_code == 404
    bobs = (await gateway.client.get("/tasks", headers=gateway.headers(bob))).json()
    assert bobs["items"] == []
    by_id = await gateway.client.get(f"/tasks?ids={cid}", headers=gateway.headers(bob))
    assert by_id.json()["items"] == []
    cancel = await gateway.client.post(f"/tasks/{cid}/cancel", headers=gateway.headers(bob))
    assert cancel.status_code == 404
    alices = (await gateway.client.get("/tasks", headers=gateway.headers(alice))).json()
    assert [t["correlation_id"] for t in alices["items"]] == [cid]


def _cache_hits(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("euglena_gateway_finished_task_cache_hits_total "):
            return float(line.split()[1])
    raise AssertionError("the finished-task cache counter is not exported")


async def test_a_finished_task_answered_from_memory_stays_private(
    gateway: RunningGateway,
) -> None:
    alice, bob = await gateway.create_user(), await gateway.create_user()
    created = await gateway.client.post(
        "/tasks", json={"mandate": "alice's answer", "max_ticks": 1}, headers=gateway.headers(alice)
    )
    cid = created.json()["correlation_id"]
    conn = await asyncpg.connect(gateway.dsn)
    try:
        await conn.execute(
            "update public.tasks set status = 'completed', result = '42', ticks = 1, "
            "completed_at = now(), updated_at = now() where correlation_id = $1",
            uuid.UUID(cid),
        )
    finally:
        await conn.close()
    before = _cache_hits((await gateway.client.get("/metrics")).text)

    reads = [
        await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(alice)) for _ in range(3)
    ]
    assert [(r.status_code, r.json()["result"]) for r in reads] == [(200, "42")] * 3
    assert _cache_hits((await gateway.client.get("/metrics")).text) - before == 2

    assert (
        await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(bob))
    ).status_code == 404, "a copy read as alice is never served to bob"
    service = await gateway.client.get(
        f"/tasks/{cid}", headers={"Authorization": f"Bearer {gateway.service_token()}"}
    )
    assert service.json()["result"] == "42"


async def test_row_level_security_holds_in_sql_for_the_authenticated_role(
    gateway: RunningGateway,
) -> None:
    alice, bob = await gateway.create_user(), await gateway.create_user()
    await gateway.client.post(
        "/tasks", json={"mandate": "mine", "max_ticks": 1}, headers=gateway.headers(alice)
    )
    conn = await asyncpg.connect(gateway.dsn)

    async def visible_to(user: uuid.UUID) -> int:
        async with conn.transaction():
            await conn.execute(
                "select set_config('role', 'authenticated', true), "
                "set_config('request.jwt.claims', $1, true)",
                json.dumps({"sub": str(user), "role": "authenticated"}),
            )
            return int(await conn.fetchval("select count(*) from public.tasks"))

    try:
        assert await visible_to(alice) == 1
        assert await visible_to(bob) == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("set local role authenticated")
                await conn.execute(
                    "insert into public.tasks (correlation_id, user_id, mandate, max_ticks) "
                    "values ($1, $2, 'forged', 1)",
                    uuid.uuid4(),
                    bob,
                )
    finally:
        await conn.close()


async def test_listing_is_newest_first_with_cursor_pagination(gateway: RunningGateway) -> None:
    user = await gateway.create_user()
    headers = gateway.headers(user)
    ids = []
    for i in range(5):
        r = await gateway.client.post(
            "/tasks", json={"mandate": f"task {i}", "max_ticks": 1}, headers=headers
        )
        ids.append(r.json()["correlation_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await gateway.client.get("/tasks", params=params, headers=headers)).json()
        seen += [t["correlation_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_api_roles_cannot_call_the_gateways_read_functions(gateway: RunningGateway) -> None:
    """They set their own claims, so a signed-in user who could call them could read anyone's."""
    alice, mallory = await gateway.create_user(), await gateway.create_user()
    created = await gateway.client.post(
        "/tasks", json={"mandate": "private", "max_ticks": 1}, headers=gateway.headers(alice)
    )
    cid = created.json()["correlation_id"]
    conn = await asyncpg.connect(gateway.dsn)
    try:
        for role in ("anon", "authenticated", "service_role"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(
                        "select set_config('role', $1, true), "
                        "set_config('request.jwt.claims', $2, true)",
                        role,
                        json.dumps({"sub": str(mallory), "role": role}),
                    )
                    await conn.fetch(
                        "select * from public.tasks_by_id_as($1, array[$2::uuid])",
                        json.dumps({"sub": str(alice)}),
                        cid,
                    )
    finally:
        await conn.close()
