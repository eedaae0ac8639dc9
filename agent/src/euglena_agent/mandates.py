"""Use-cases behind the AMQP callbacks: run one mandate, settle one dead-lettered message.

Both are idempotent on ``correlation_id``: a task that is already terminal in Redis is left
alone and its message acknowledged. The consumer only maps :class:`Outcome` to ack / requeue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from euglena.messages import MESSAGE_SCHEMA_VERSION, TaskMessage
from euglena.status import TaskStatus
from euglena.task import Task
from euglena.workers import WorkerState
from euglena_agent.errors import ModelError, TaskStopped, UnsupportedMessage
from euglena_agent.loop import AgentLoop, LoopOutcome
from euglena_agent.metrics import AgentMetrics
from euglena_agent.presence import WorkerPresence
from euglena_agent.status import StatusManager

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How a delivery is settled: acknowledged, requeued for another try, or dead-lettered."""

    ACK = "ack"
    REQUEUE = "requeue"
    DEAD_LETTER = "dead-letter"


class _TaskProgress:
    """Reports each tick to Redis in one compare-and-set; its refusal over a terminal (e.g.
    cancelled) task raises TaskStopped, which stops the loop before its next tick."""

    def __init__(self, status: StatusManager, task: Task) -> None:
        self._status = status
        self.task = task

    async def after_tick(self, tick: int, action: str, usage: dict[str, int]) -> None:
        update = self.task.evolve(
            status=TaskStatus.IN_PROGRESS, ticks=tick, last_action=action, usage=usage
        )
        self.task = await self._status.advance(update, required=False)


@dataclass(frozen=True, slots=True)
class MandateService:
    status: StatusManager
    loop: AgentLoop
    presence: WorkerPresence
    metrics: AgentMetrics
    worker_id: str
    task_timeout: float

    async def handle(self, message: TaskMessage, *, redelivered: bool = True) -> Outcome:
        """Run the mandate to a terminal status. StatusUnavailable propagates (requeue).

        ``redelivered``: whether the broker delivered this message before (to a worker that
        died or gave it back). A first delivery of a task some worker has claimed already is a
        second copy of its message (the gateway queued it again after a lost confirm): the
        delivery that claimed it carries the task — and is redelivered if its worker dies — so
        this copy is acknowledged and dropped rather than run twice at once."""
        if message.version > MESSAGE_SCHEMA_VERSION:
            raise UnsupportedMessage(f"message schema version {message.version} is newer")
        try:
            task = await self._claim(message, redelivered=redelivered)
        except TaskStopped as stop:
            log.info("task %s is already %s; dropping", message.correlation_id, stop.status)
            return Outcome.ACK
        cid = str(task.correlation_id)
        self.presence.busy(cid)
        self.metrics.busy.set(1)
        self.metrics.in_flight.inc()
        finished = False
        try:
            finished = await self._run(task)
            # after the terminal status (the user has the answer), before the ack: a task
            # redelivered or a later task on this worker sees everything this one observed
            await self.loop.flush_memory()
        finally:
            self.metrics.in_flight.dec()
            self.presence.done(cid, processed=finished)
            self.metrics.busy.set(1 if self.presence.state is WorkerState.BUSY else 0)
        return Outcome.ACK

    async def _claim(self, message: TaskMessage, *, redelivered: bool) -> Task:
        """``accepted`` in one compare-and-set (no read first), then ``started``.

        The CAS refuses the write over a newer, further-along or terminal copy and hands that
        copy back, so a redelivered task continues from what is stored.
        """
        offer = message.to_task().evolve(status=TaskStatus.ACCEPTED, worker_id=self.worker_id)
        result = await self.status.write(offer)
        task = offer
        if result is not None and not result.applied and result.current is not None:
            task = result.current
            if task.is_terminal:
                raise TaskStopped(task.status.value)
            if not redelivered and task.status.rank >= TaskStatus.ACCEPTED.rank:
                raise TaskStopped(f"{task.status.value} by {task.worker_id} (a second copy)")
            if task.status.rank < TaskStatus.ACCEPTED.rank:
                task = await self.status.advance(
                    task.evolve(status=TaskStatus.ACCEPTED, worker_id=self.worker_id)
                )
        next_status = max(task.status, TaskStatus.STARTED, key=lambda s: s.rank)
        return await self.status.advance(
            task.evolve(status=next_status, worker_id=self.worker_id, ticks=0)
        )

    async def _run(self, task: Task) -> bool:
        progress = _TaskProgress(self.status, task)
        started = time.monotonic()
        log.info("task %s started (max %d ticks)", task.correlation_id, task.max_ticks)
        try:
            outcome = await self._loop_with_timeout(task, progress)
            final = _final(progress.task, outcome)
            await self.status.advance(final)
        except TaskStopped as stop:
            log.info("task %s stopped: it is %s", task.correlation_id, stop.status)
            self.metrics.tasks.labels("cancelled").inc()
            return True
        self.metrics.tasks.labels(final.status.value).inc()
        self.metrics.task_duration.observe(time.monotonic() - started)
        log.info("task %s %s after %d ticks", task.correlation_id, final.status.value, final.ticks)
        return True

    async def _loop_with_timeout(self, task: Task, progress: _TaskProgress) -> LoopOutcome:
        try:
            async with asyncio.timeout(self.task_timeout):
                return await self.loop.run(task, progress)
        except TimeoutError:
            return LoopOutcome(
                error=f"timed out after {self.task_timeout:g} s", ticks=progress.task.ticks
            )
        except ModelError as exc:
            log.info("task %s failed: %s", task.correlation_id, exc)
            return LoopOutcome(error=str(exc), ticks=progress.task.ticks)

    async def dead_letter(self, body: bytes, message_id: str | None, reason: str) -> None:
        """Mark the task of a dead-lettered message ``failed`` (unless it already ended).

        ``reason`` says why RabbitMQ dead-lettered it, e.g. "after 5 delivery attempts".
        """
        task = await self._dead_task(body, message_id)
        if task is None:
            log.warning("dead-lettered message %s names no task; dropped", message_id)
            return
        error = f"dead-lettered {reason}: no worker could process this task"
        try:
            await self.status.advance(task.evolve(status=TaskStatus.FAILED, error=error))
        except TaskStopped as stop:
            log.info("dead-lettered task %s was already %s", task.correlation_id, stop.status)
            return
        self.metrics.tasks.labels("dead_lettered").inc()
        log.warning("task %s failed: %s", task.correlation_id, error)

    async def _dead_task(self, body: bytes, message_id: str | None) -> Task | None:
        message = _lenient_message(body)
        cid = message.correlation_id if message else _uuid(message_id)
        if cid is None:
            return None
        stored = await self.status.get(cid)
        if stored is not None:
            return stored
        return message.to_task() if message else None


def _final(task: Task, outcome: LoopOutcome) -> Task:
    ticks = max(outcome.ticks, task.ticks)
    usage = outcome.usage if outcome.usage.get("llm_requests") else task.usage
    last = outcome.last_action or task.last_action
    if outcome.result is not None:
        return task.evolve(
            status=TaskStatus.COMPLETED,
            result=outcome.result,
            ticks=ticks,
            usage=usage,
            last_action=last,
        )
    return task.evolve(
        status=TaskStatus.FAILED, error=outcome.error, ticks=ticks, usage=usage, last_action=last
    )


def _lenient_message(body: bytes) -> TaskMessage | None:
    try:
        doc = json.loads(body)
        doc["version"] = MESSAGE_SCHEMA_VERSION
        return TaskMessage.model_validate(doc)
    except (ValueError, TypeError, KeyError):
        return None


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
