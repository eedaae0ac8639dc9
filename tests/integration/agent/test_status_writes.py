"""An agent's status write that already reached Redis is its own write, not another's copy.

One write can reach Redis twice: sent again after a reply that was lost (Redis ran it, the
client timed out), or written by the background flusher while its writer still waits for the
reply. The later attempt is refused (not newer) and finds what it wrote. Read as another
worker's copy, a claim was dropped as "a second copy" and its task left accepted by a worker
that never ran it, open for good (found by ``make faults`` R3 under load).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.messages import TaskMessage
from euglena.status import TaskStatus
from euglena.task import Task
from euglena_agent.status import StatusManager


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStatusStore]:
    redis = Redis.from_url(redis_url)
    try:
        yield RedisStatusStore(redis)
    finally:
        await redis.aclose()


def _claim(worker: str) -> Task:
    message = TaskMessage(
        correlation_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        mandate="claim me once",
        max_ticks=3,
        created_at=datetime.datetime.now(datetime.UTC),
    )
    return message.to_task().evolve(status=TaskStatus.ACCEPTED, worker_id=worker)


async def test_a_write_that_already_landed_is_reported_applied(store: RedisStatusStore) -> None:
    manager = StatusManager(store)
    claim = _claim("agent-a")
    assert (await store.put(claim)).applied  # the attempt whose reply was lost

    again = await manager.write(claim)

    assert again is not None and again.applied, again
    assert await store.get(claim.correlation_id) == claim


async def test_a_write_refused_over_a_different_copy_is_still_refused(
    store: RedisStatusStore,
) -> None:
    manager = StatusManager(store)
    claim = _claim("agent-a")
    started = claim.evolve(status=TaskStatus.IN_PROGRESS, ticks=1, last_action="think")
    assert (await store.put(started)).applied

    stale = await manager.write(claim)

    assert stale is not None and not stale.applied
    assert stale.current == started
