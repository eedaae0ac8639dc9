"""Redis adapter of worker presence: ``worker:status:{id}`` records and the ``workers:status`` set.

The write side (:class:`~euglena.ports.PresenceBoard`, agents) stores a worker's record with a
TTL and adds its id to the set in one transaction; the read side
(:class:`~euglena.ports.WorkerDirectory`, gateway and operator) returns the workers whose
record still exists and removes set members whose record has expired. A Redis outage raises
``DependencyUnavailable``.
"""

from __future__ import annotations

import math

from pydantic import ValidationError
from redis.asyncio import Redis

from euglena.adapters.redis_errors import redis_unavailable
from euglena.keys import worker_status_key
from euglena.workers import WorkerStatus


class RedisWorkers:
    def __init__(self, redis: Redis, *, set_key: str) -> None:
        self._redis = redis
        self._set_key = set_key

    async def publish(self, status: WorkerStatus, *, ttl_seconds: float) -> None:
        ttl_ms = max(1000, math.ceil(ttl_seconds * 1000))
        with redis_unavailable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(worker_status_key(status.worker_id), status.model_dump_json(), px=ttl_ms)
                pipe.sadd(self._set_key, status.worker_id)
                await pipe.execute()

    async def withdraw(self, worker_id: str) -> None:
        with redis_unavailable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(worker_status_key(worker_id))
                pipe.srem(self._set_key, worker_id)
                await pipe.execute()

    async def live_workers(self) -> list[WorkerStatus]:
        """Workers with a live heartbeat; members without one are removed from the set."""
        with redis_unavailable():
            found = await self._redis.smembers(self._set_key)
            members = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in found)
            if not members:
                return []
            raws = await self._redis.mget([worker_status_key(m) for m in members])
        live: list[WorkerStatus] = []
        stale: list[str] = []
        for member, raw in zip(members, raws, strict=True):
            if raw is None:
                stale.append(member)
                continue
            try:
                live.append(WorkerStatus.model_validate_json(raw))
            except ValidationError:
                stale.append(member)
        if stale:
            with redis_unavailable():
                await self._redis.srem(self._set_key, *stale)
        return live
