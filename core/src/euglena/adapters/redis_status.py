"""Redis adapter of the StatusStore port: ``task:{id}`` JSON written by compare-and-set.

A single Lua script decides atomically on the server whether a write may land: never over a
terminal task, never backwards in status, never with an ``updated_at`` that is not newer. Every
write refreshes the 600-second TTL and is published on ``task-events:{id}`` for live streams.
A Redis outage raises ``DependencyUnavailable`` (see :mod:`euglena.adapters.redis_errors`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis

from euglena.adapters.redis_errors import redis_unavailable
from euglena.keys import TASK_KEY_PATTERN, TASK_TTL_SECONDS, task_events_channel, task_key
from euglena.ports import WriteResult
from euglena.status import status_ranks
from euglena.task import Task, to_rfc3339

log = logging.getLogger(__name__)

_CAS_SCRIPT = """
local ranks = cjson.decode(ARGV[5])
local current = redis.call('GET', KEYS[1])
if current then
  local doc = cjson.decode(current)
  local status = doc['status']
  if ranks[status] == 4 then return {0, current} end
  if ranks[ARGV[3]] < ranks[status] then return {0, current} end
  if ARGV[4] <= doc['updated_at'] then return {0, current} end
elseif ARGV[6] == '0' then
  return {-1, ''}
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('PUBLISH', KEYS[2], ARGV[1])
return {1, ARGV[1]}
"""


class RedisStatusStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int = TASK_TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._ranks = json.dumps(status_ranks())
        self._cas = redis.register_script(_CAS_SCRIPT)

    async def get(self, correlation_id: uuid.UUID) -> Task | None:
        with redis_unavailable():
            raw = await self._redis.get(task_key(correlation_id))
        return Task.from_json(raw) if raw else None

    async def put(self, task: Task, *, create: bool = True) -> WriteResult:
        with redis_unavailable():
            reply: list[Any] = await self._cas(
                keys=[task_key(task.correlation_id), task_events_channel(task.correlation_id)],
                args=[
                    task.to_json(),
                    self._ttl,
                    task.status.value,
                    to_rfc3339(task.updated_at),
                    self._ranks,
                    "1" if create else "0",
                ],
            )
        code, stored = int(reply[0]), reply[1]
        if code == -1:
            return WriteResult(applied=False, current=None)
        return WriteResult(applied=code == 1, current=Task.from_json(stored))

    async def get_many(self, correlation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Task]:
        if not correlation_ids:
            return {}
        with redis_unavailable():
            raws = await self._redis.mget([task_key(cid) for cid in correlation_ids])
        return {
            cid: Task.from_json(raw) for cid, raw in zip(correlation_ids, raws, strict=True) if raw
        }

    async def scan(self, batch: int = 200) -> AsyncIterator[list[Task]]:
        """Every task Redis holds, ``batch`` at a time (SCAN, so the server is never blocked).

        A key that expired between SCAN and MGET is simply absent; one that holds no valid task
        is skipped (and counted in one warning per scan), never fatal to the walk."""
        keys: list[bytes | str] = []
        invalid = 0
        cursor = 0
        while True:
            with redis_unavailable():
                cursor, found = await self._redis.scan(cursor, match=TASK_KEY_PATTERN, count=batch)
            keys.extend(found)
            done = cursor == 0
            if keys and (done or len(keys) >= batch):
                tasks, skipped = await self._load(keys)
                invalid += skipped
                keys = []
                yield tasks
            if done:
                break
        if invalid:
            log.warning("%d task key(s) hold no valid task; left to expire", invalid)

    async def _load(self, keys: list[bytes | str]) -> tuple[list[Task], int]:
        tasks: list[Task] = []
        invalid = 0
        with redis_unavailable():
            raws = await self._redis.mget(keys)
        for raw in raws:
            if not raw:
                continue
            try:
                tasks.append(Task.from_json(raw))
            except ValidationError:
                invalid += 1
        return tasks, invalid

    async def delete(self, correlation_id: uuid.UUID) -> None:
        with redis_unavailable():
            await self._redis.delete(task_key(correlation_id))

    async def ping(self) -> None:
        with redis_unavailable():
            await self._redis.ping()
