"""WorkerPresence: this worker's heartbeat.

Every heartbeat publishes the core :class:`~euglena.workers.WorkerStatus` record
(``worker:status:{id}``: pod, busy/idle, the tasks it holds, how many it has finished) to the
presence board with a TTL of three heartbeats. A worker that dies stops refreshing it, and it
expires; readers (the gateway's ``/agents/count``, the operator's pod-deletion cost) count only
live records. A busy/idle change is published at once, off the task's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from euglena.errors import DependencyUnavailable, Severity
from euglena.ports import PresenceBoard
from euglena.task import utcnow
from euglena.workers import WorkerState, WorkerStatus

log = logging.getLogger(__name__)

HEARTBEATS_PER_TTL = 3


class WorkerPresence:
    def __init__(
        self, board: PresenceBoard, *, worker_id: str, pod: str, heartbeat_seconds: float
    ) -> None:
        self._board = board
        self.worker_id = worker_id
        self._pod = pod
        self._heartbeat = heartbeat_seconds
        self._tasks: list[str] = []
        self._changed = asyncio.Event()
        self.processed = 0

    @property
    def state(self) -> WorkerState:
        return WorkerState.BUSY if self._tasks else WorkerState.IDLE

    def status(self) -> WorkerStatus:
        return WorkerStatus(
            worker_id=self.worker_id,
            pod=self._pod,
            state=self.state,
            task_id=self._tasks[0] if self._tasks else None,
            in_flight=len(self._tasks),
            processed=self.processed,
            last_heartbeat=utcnow(),
        )

    async def beat(self) -> None:
        await self._board.publish(self.status(), ttl_seconds=self._heartbeat * HEARTBEATS_PER_TTL)

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
        await self._board.withdraw(self.worker_id)

    async def _beat_quietly(self) -> None:
        try:
            await self.beat()
        except DependencyUnavailable as exc:
            Severity.DEGRADED.log(log, "presence heartbeat failed: %s", exc)
