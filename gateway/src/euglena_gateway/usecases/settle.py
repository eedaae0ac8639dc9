"""Settler: persists finished tasks that nobody has read, before their Redis copy expires.

Reads sync a task into Postgres (``StorageManager``). A task whose owner never asks again would
otherwise lose its result when ``task:{id}`` expires, 600 s after its last write. Every
``interval`` seconds the settler asks the storage to persist each task that finished more than
``grace`` seconds ago (sooner than that, the reader watching it usually syncs it first).
Several gateway replicas may settle at once: syncs are guarded updates, so the second one
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from euglena.errors import DependencyUnavailable, Severity
from euglena.task import utcnow
from euglena_gateway.usecases.storage import StorageManager

log = logging.getLogger(__name__)


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
        return await self._storage.settle_finished(finished_before=self._clock() - self._grace)

    async def run(self) -> None:
        while True:
            # Jitter keeps replicas that started together from settling in lockstep.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
            try:
                settled = await self.settle_once()
            except DependencyUnavailable as exc:
                Severity.DEGRADED.log(
                    log,
                    "settling finished tasks failed (%s); next try in %g s",
                    exc,
                    self._interval,
                )
                continue
            except Exception as exc:  # the loop outlives any one pass
                Severity.UNEXPECTED.log(log, "settling finished tasks failed", exc=exc)
                continue
            if settled:
                log.info("settled %d finished task(s) nobody had read", settled)
