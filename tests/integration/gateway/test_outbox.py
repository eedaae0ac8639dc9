"""The outbox in SQL: replicas never claim the same unconfirmed task; confirmed ones are left."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from euglena.task import utcnow
from euglena_devkit.local_gateway import RunningGateway


async def _recorded(conn: asyncpg.Connection, user: uuid.UUID, count: int, age: float) -> list[Any]:
    ids = [uuid.uuid4() for _ in range(count)]
    for cid in ids:
        await conn.execute(
            "select public.submit_task($1, $2, 'm', 1, 'api', $3)",
            cid,
            user,
            utcnow() - timedelta(seconds=age),
        )
    return ids


async def test_replicas_claim_disjoint_tasks_and_a_claim_is_a_lease(
    gateway: RunningGateway,
) -> None:
    user = await gateway.create_user(daily_tick_limit=100)
    conns = [await asyncpg.connect(gateway.dsn) for _ in range(3)]
    try:
        due = await _recorded(conns[0], user, 30, age=60)
        confirmed = await _recorded(conns[0], user, 5, age=60)
        await conns[0].execute("select public.mark_queued($1::uuid[])", confirmed)
        young = await _recorded(conns[0], user, 5, age=0)

        claims = await asyncio.gather(
            *(c.fetch("select correlation_id from public.claim_unqueued(30, 20)") for c in conns)
        )
        claimed = [[r["correlation_id"] for r in rows] for rows in claims]
        flat = [cid for rows in claimed for cid in rows]
        assert len(flat) == len(set(flat)) == len(due)  # nobody took a task twice
        assert set(flat) == set(due)  # neither confirmed nor young ones
        again = await conns[0].fetch("select * from public.claim_unqueued(30, 100)")
        assert again == []  # each stays claimed for the lease
        assert set(young).isdisjoint(flat)
    finally:
        for conn in conns:
            await conn.close()
