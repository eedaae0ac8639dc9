"""Settler: persists finished tasks that nobody has read, before their Redis copy expires.

Reads sync a task into Postgres (``StorageManager``). A task whose owner never asks again would
otherwise lose its result when ``task:{id}`` expires, 600 s after its last write. Every
``interval`` seconds the settler walks the live store and syncs each task that finished more
than ``grace`` seconds ago (sooner than that, the reader watching it usually syncs it first).
Several gateway replicas may settle at once: syncs are guarded updates, so the second one
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from redis.exceptions import RedisError

from euglena.errors import DependencyUnavailable
from euglena.task import utcnow
from euglena_gateway.usecases.storage import StorageManager

log = logging.getLogger(__name__)

_OUTAGES = (DependencyUnavailable, RedisError, OSError, TimeoutError)


class Settler:
    def __init__(
        self,
        storage: StorageManager,
        *,
        interval: float,
        grace: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._storage = storage
        self._interval = interval
        self._grace = timedelta(seconds=grace)
        self._clock = clock

    async def settle_once(self) -> int:
        """Sync every finished task older than the grace period; return how many were due."""
        cutoff = self._clock() - self._grace
        due = 0
        async for batch in self._storage.live.scan():
            ids = [t.correlation_id for t in batch if t.is_terminal and t.updated_at <= cutoff]
            if ids:
                await self._storage.settle(ids)
                due += len(ids)
        return due

    async def run(self) -> None:
        while True:
            # Jitter keeps replicas that started together from settling in lockstep.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
            try:
                settled = await self.settle_once()
            except _OUTAGES as exc:
                log.warning(
                    "settling finished tasks failed (%s); next try in %g s", exc, self._interval
                )
                continue
            except Exception:
                log.exception("settling finished tasks failed")
                continue
            if settled:
                log.info("settled %d finished task(s) nobody had read", settled)
