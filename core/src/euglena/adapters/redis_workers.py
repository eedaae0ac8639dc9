"""Read side of worker presence: who is alive, cleaning set members whose key has expired."""

from __future__ import annotations

from pydantic import ValidationError
from redis.asyncio import Redis

from euglena.adapters.redis_errors import redis_unavailable
from euglena.keys import worker_status_key
from euglena.workers import WorkerStatus


class RedisWorkerDirectory:
    def __init__(self, redis: Redis, *, set_key: str) -> None:
        self._redis = redis
        self._set_key = set_key

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
