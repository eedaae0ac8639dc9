"""QueueReconciler: every recorded task is queued, or fails with a reason; none is stuck.

A submission records the task in Postgres and Redis, publishes it, and marks it queued once
the broker confirms (``StorageManager.confirmed``). Three things can leave a task recorded but
not known to be queued: the gateway died between the insert and the publish (nothing was
sent), it died between the confirm and the mark (the message is queued), or the confirm never
came (the message may be queued: ``PublishUnconfirmed``). The submission cannot tell which,
so it does not guess: it keeps the task, and this reconciler settles it later.

Every ``interval`` seconds (jittered, on every gateway replica) it claims the pending tasks
that are older than ``grace`` and unmarked — a claim is a lease in Postgres, so two replicas
never take the same task — and for each:

- a worker already moved it on (its Redis copy is past ``pending``): the message was queued,
  so it is marked queued and its progress synced;
- it is older than ``give_up``: it fails with a reason, and its ticks come back;
- otherwise it is published again. A duplicate is harmless: agents acknowledge and drop the
  second copy of a message whose task a delivery already claimed.

Each pass also checks the open, queued tasks Redis must hold a live copy of (a worker claimed
them, or their copy cannot have expired yet). A copy still missing ``grace`` seconds after it
was first found missing went with Redis (a restart without persistence): a finished result
that was not yet persisted, or progress. The task gets a pending copy again and is published
again, so it runs (again) and its result reaches Postgres instead of staying open forever.

Meanwhile the confirmations of the submissions themselves are written every ``flush_interval``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from euglena.errors import DependencyUnavailable, Severity
from euglena.messages import TaskMessage
from euglena.ports import TaskQueue
from euglena.task import Task, utcnow
from euglena_gateway.usecases.storage import StorageManager

log = logging.getLogger(__name__)

BATCH = 100
_FIRST = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What one pass did: tasks published again, found running, failed."""

    republished: int = 0
    running: int = 0
    failed: int = 0
    restored: int = 0

    @property
    def total(self) -> int:
        return self.republished + self.running + self.failed + self.restored


class QueueReconciler:
    def __init__(
        self,
        storage: StorageManager,
        queue: TaskQueue,
        *,
        grace: float,
        give_up: float,
        interval: float,
        flush_interval: float = 0.25,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._grace = grace
        self._give_up = timedelta(seconds=give_up)
        self._interval = interval
        self._flush_interval = flush_interval
        self._clock = clock
        self._after = _FIRST
        self._suspects: dict[uuid.UUID, datetime] = {}

    async def reconcile_once(self) -> Reconciled:
        unqueued = await self._unqueued()
        restored = await self._lost_live_copies()
        return dataclasses.replace(unqueued, restored=restored)

    async def _unqueued(self) -> Reconciled:
        republished = running = failed = 0
        for task in await self._storage.unqueued(older_than=self._grace, limit=BATCH):
            if await self._storage.progress_of(task) is not None:
                running += 1
            elif self._clock() - task.created_at > self._give_up:
                await self._storage.fail(task, self._give_up_reason())
                failed += 1
            elif await self._republish(task):
                republished += 1
            else:
                break  # the broker is away: the claimed rest waits for their lease to end
        return Reconciled(republished, running, failed)

    async def _lost_live_copies(self) -> int:
        batch = await self._storage.open_tasks(after=self._after, limit=BATCH)
        self._after = batch[-1].correlation_id if len(batch) == BATCH else _FIRST
        missing = {t.correlation_id: t for t in await self._storage.without_live_copy(batch)}
        for task in batch:
            if task.correlation_id not in missing:
                self._suspects.pop(task.correlation_id, None)
        now = self._clock()
        restored = 0
        for cid, task in missing.items():
            if now - self._suspects.setdefault(cid, now) < timedelta(seconds=self._grace):
                continue
            del self._suspects[cid]
            copy = await self._storage.restore(task)
            if copy is not None and await self._republish(copy, why="its live copy was lost"):
                restored += 1
        return restored

    def _give_up_reason(self) -> str:
        seconds = self._give_up.total_seconds()
        return (
            f"could not be queued: RabbitMQ did not confirm the task within {seconds:g} s of "
            "its submission; its ticks were given back"
        )

    async def _republish(
        self, task: Task, *, why: str = "its first publish was never confirmed"
    ) -> bool:
        try:
            await self._queue.publish(TaskMessage.from_task(task))
        except DependencyUnavailable as exc:
            Severity.DEGRADED.log(
                log, "could not queue task %s again: %s", task.correlation_id, exc
            )
            return False
        await self._storage.mark_queued(task.correlation_id)
        log.info("task %s queued again (%s)", task.correlation_id, why)
        return True

    async def run(self) -> None:
        """Flush confirmations and reconcile, until cancelled; the last confirmations are
        written on the way out."""
        flushing = asyncio.create_task(self._flush_forever(), name="queue-confirmations")
        try:
            await self._reconcile_forever()
        finally:
            flushing.cancel()
            await asyncio.gather(flushing, return_exceptions=True)
            await self._flush_quietly()

    async def _reconcile_forever(self) -> None:
        while True:
            # Jitter keeps replicas that started together from claiming in lockstep.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
            try:
                done = await self.reconcile_once()
            except DependencyUnavailable as exc:
                Severity.DEGRADED.log(log, "reconciling unqueued tasks failed (%s)", exc)
                continue
            except Exception as exc:  # the loop outlives any one pass
                Severity.UNEXPECTED.log(log, "reconciling unqueued tasks failed", exc=exc)
                continue
            if done.total:
                log.info(
                    "unqueued tasks: %d queued again, %d found running, %d failed; "
                    "%d queued again after their live copy was lost",
                    done.republished,
                    done.running,
                    done.failed,
                    done.restored,
                )

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            await self._flush_quietly()

    async def _flush_quietly(self) -> None:
        try:
            await self._storage.flush_confirmed()
        except DependencyUnavailable as exc:
            Severity.DEGRADED.log(log, "marking confirmed tasks queued failed (%s)", exc)
        except Exception as exc:
            Severity.UNEXPECTED.log(log, "marking confirmed tasks queued failed", exc=exc)
