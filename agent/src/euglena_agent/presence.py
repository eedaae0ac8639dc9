"""WorkerPresence: this worker's heartbeat in Redis.

``worker:status:{id}`` holds ``{worker_id, pod, state, task_id, processed, last_heartbeat}``
with a TTL of three heartbeats, and the id is a member of the ``workers:status`` set. A worker
that dies stops refreshing its key, which then expires; readers (the gateway's
``/agents/count``, the operator's pod-deletion-cost) count only members whose key exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from euglena.keys import worker_status_key
from euglena.task import to_rfc3339, utcnow

log = logging.getLogger(__name__)


class WorkerPresence:
    def __init__(
        self,
        redis: Redis,
        *,
        worker_id: str,
        pod: str,
        set_key: str,
        heartbeat_seconds: float,
    ) -> None:
        self._redis = redis
        self.worker_id = worker_id
        self._pod = pod
        self._set_key = set_key
        self._heartbeat = heartbeat_seconds
        self._ttl_ms = max(1000, math.ceil(heartbeat_seconds * 3 * 1000))
        self._tasks: list[str] = []
        self._changed = asyncio.Event()
        self.processed = 0

    @property
    def state(self) -> str:
        return "busy" if self._tasks else "idle"

    def document(self) -> dict[str, object]:
        return {
            "worker_id": self.worker_id,
            "pod": self._pod,
            "state": self.state,
            "task_id": self._tasks[0] if self._tasks else None,
            "in_flight": len(self._tasks),
            "processed": self.processed,
            "last_heartbeat": to_rfc3339(utcnow()),
        }

    async def beat(self) -> None:
        key = worker_status_key(self.worker_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(self.document()), px=self._ttl_ms)
            pipe.sadd(self._set_key, self.worker_id)
            await pipe.execute()

    def busy(self, task_id: str) -> None:
        self._tasks.append(task_id)
        self._changed.set()

    def done(self, task_id: str, *, processed: bool) -> None:
        if task_id in self._tasks:
            self._tasks.remove(task_id)
        if processed:
            self.processed += 1
        self._changed.set()

    async def run(self) -> None:
        """Heartbeat until cancelled; a busy/idle change is written at once, off the task's
        path (the claim and the ack never wait for it)."""
        while True:
            await self._beat_quietly()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heartbeat):
                    await self._changed.wait()
            self._changed.clear()

    async def remove(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(worker_status_key(self.worker_id))
            pipe.srem(self._set_key, self.worker_id)
            await pipe.execute()

    async def _beat_quietly(self) -> None:
        try:
            await self.beat()
        except (RedisError, OSError) as exc:
            log.info("presence heartbeat failed: %s", exc)
