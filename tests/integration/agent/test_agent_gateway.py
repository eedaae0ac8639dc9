"""The agent behind the real gateway: submit, cancel and count workers over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from agent_harness import AgentHarness

from euglena.keys import task_key
from euglena_devkit.fakes import FakeSearchServer, FakeWebServer, Hit, tool
from euglena_devkit.fakes.web import article
from euglena_devkit.local_gateway import RunningGateway
from euglena_devkit.waiting import until


async def _submit(gateway: RunningGateway, user: uuid.UUID, mandate: str, ticks: int = 10) -> str:
    response = await gateway.client.post(
        "/tasks", json={"mandate": mandate, "max_ticks": ticks}, headers=gateway.headers(user)
    )
    assert response.status_code == 202, response.text
    return str(response.json()["correlation_id"])


async def _get(gateway: RunningGateway, user: uuid.UUID, cid: str) -> dict[str, Any]:
    response = await gateway.client.get(f"/tasks/{cid}", headers=gateway.headers(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _rows(gateway: RunningGateway, cid: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(gateway.dsn)
    try:
        return list(
            await conn.fetch(
                "select status, result, worker_id from public.tasks where correlation_id = $1",
                uuid.UUID(cid),
            )
        )
    finally:
        await conn.close()


async def test_submitted_over_http_completes_and_is_served_from_postgres(
    gateway: RunningGateway, agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer
) -> None:
    url = web.page("/lutz", article("Lutz", "Lutz is the capital of Zubrowka since 1932."))
    search.results("lutz", [Hit("Lutz", url, "Capital city.")])
    mandate = "Since when is Lutz the capital?"
    agents.llm.script(
        mandate,
        [
            tool("search", query="Lutz capital since"),
            tool("visit", url=url),
            tool("exit", answer="Lutz has been the capital since 1932."),
        ],
    )
    await agents.start_worker(delivery_limit=gateway.settings.delivery_limit)
    user = await gateway.create_user()

    cid = await _submit(gateway, user, mandate)
    done = await until(
        lambda: _get(gateway, user, cid), holds=lambda t: t["status"] == "completed", timeout=60
    )

    assert done["result"] == "Lutz has been the capital since 1932."
    assert done["ticks"] == 3
    assert "since 1932" in agents.llm.prompts(mandate)[2]  # the visited page reached the model
    assert await agents.redis.exists(task_key(cid)) == 0  # synced, then removed from Redis
    again = await _get(gateway, user, cid)
    assert again["status"] == "completed" and again["result"] == done["result"]
    rows = await _rows(gateway, cid)
    assert [(r["status"], r["result"]) for r in rows] == [("completed", done["result"])]


async def test_cancel_over_http_stops_the_loop_within_one_tick(
    gateway: RunningGateway, agents: AgentHarness
) -> None:
    mandate = "Keep thinking until told to stop"
    agents.llm.script(mandate, [tool("think", thought="Still going.", delay=0.3)])
    worker = await agents.start_worker(delivery_limit=gateway.settings.delivery_limit)
    user = await gateway.create_user()
    cid = await _submit(gateway, user, mandate, ticks=50)
    await until(lambda: _get(gateway, user, cid), holds=lambda t: t["ticks"] >= 2)

    response = await gateway.client.post(f"/tasks/{cid}/cancel", headers=gateway.headers(user))
    assert response.status_code == 202, response.text
    requests_at_cancel = len(agents.llm.prompts(mandate))

    await until(
        _async(lambda: worker.metric("euglena_agent_tasks_total", outcome="cancelled")),
        holds=lambda n: n == 1,
    )
    assert len(agents.llm.prompts(mandate)) <= requests_at_cancel + 1
    assert (await _get(gateway, user, cid))["status"] == "cancelled"


async def test_kill_9_exactly_one_completed_record_and_agent_count_drops(
    gateway: RunningGateway, agents: AgentHarness
) -> None:
    mandate = "Outlive one of two workers"
    steps = [tool("think", thought=f"step {i}", delay=0.2) for i in range(6)]
    agents.llm.script(mandate, [*steps, tool("exit", answer="Outlived.")])
    workers = await agents.spawn_workers(2, delivery_limit=gateway.settings.delivery_limit)
    user = await gateway.create_user()

    async def count() -> int:
        response = await gateway.client.get("/agents/count", headers=gateway.headers(user))
        return int(response.json()["count"])

    assert await count() == 2
    cid = await _submit(gateway, user, mandate, ticks=20)
    running = await until(lambda: _get(gateway, user, cid), holds=lambda t: t["ticks"] >= 2)
    victim = next(w for w in workers if w.id == running["worker_id"])

    victim.kill()

    await until(count, holds=lambda n: n == 1, timeout=3)  # TTL: 3 heartbeats of 0.5 s
    done = await until(
        lambda: _get(gateway, user, cid), holds=lambda t: t["status"] == "completed", timeout=60
    )
    assert done["result"] == "Outlived." and done["worker_id"] != victim.id
    assert [r["status"] for r in await _rows(gateway, cid)] == ["completed"]


def _async(probe: Any) -> Any:
    async def wrapped() -> Any:
        return probe()

    return wrapped
