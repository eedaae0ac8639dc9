"""StatusManager: the one place an agent writes task status to Redis.

Every write is a compare-and-set through the core ``StatusStore`` (never backwards, never over a
terminal task, ``updated_at`` strictly increasing, TTL refreshed). On top of it: retries with
exponential backoff and jitter (tenacity), a circuit breaker (purgatory) so a dead Redis fails
fast instead of stalling every tick, and a bounded buffer of updates that could not be written,
flushed in the background once Redis answers again. A progress update (a tick) is buffered
and the task goes on; a required write (the claim, a terminal status) waits for the flush up to
``wait_seconds`` while its AMQP message stays unacknowledged, and only then gives up.

One write can reach Redis twice: sent again after a reply that was lost (a timeout after Redis
ran it), or by the flusher while its writer still waits for the reply. The later attempt is
refused (not newer) and finds exactly what it wrote: that is this write, applied, and is
reported so (read as another worker's copy, a claim would be dropped and its task left open).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from euglena.errors import DependencyUnavailable
from euglena.ports import StatusStore, WriteResult
from euglena.task import Task
from euglena_agent.errors import StatusUnavailable, TaskStopped

log = logging.getLogger(__name__)

T = TypeVar("T")
_TRANSIENT = (DependencyUnavailable,)
"""What the status store raises while Redis is away (its adapter translates Redis errors)."""


class StatusManager:
    def __init__(
        self,
        store: StatusStore,
        *,
        attempts: int = 5,
        buffer_size: int = 1000,
        breaker_threshold: int = 5,
        breaker_reset_seconds: float = 10.0,
        wait_initial: float = 0.05,
        wait_max: float = 2.0,
        wait_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._attempts = attempts
        self._wait = wait_exponential_jitter(
            multiplier=wait_initial, max=wait_max, jitter=wait_initial
        )
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold, default_ttl=breaker_reset_seconds
        )
        self._pending: OrderedDict[uuid.UUID, Task] = OrderedDict()
        self._buffer_size = buffer_size
        self._wait_seconds = wait_seconds
        self._waiters: dict[uuid.UUID, tuple[Task, asyncio.Future[WriteResult]]] = {}

    @property
    def pending(self) -> int:
        """Updates waiting for Redis to come back."""
        return len(self._pending)

    async def get(self, correlation_id: uuid.UUID) -> Task | None:
        return await self._call(lambda: self._store.get(correlation_id))

    async def write(self, task: Task, *, required: bool = True) -> WriteResult | None:
        """Write ``task``; ``None`` when Redis is away and the update was buffered instead.

        A required write (a terminal status, the first ``accepted``) waits for the background
        flush up to ``wait_seconds``, then raises :class:`StatusUnavailable`; it stays buffered.
        """
        self._buffer(task)
        try:
            result = await self._call(lambda: self._put(task))
        except StatusUnavailable:
            if required:
                return await self._flushed(task)
            log.info("status of %s buffered: Redis unavailable", task.correlation_id)
            return None
        self._settle(task, result)
        return result

    async def _flushed(self, task: Task) -> WriteResult:
        if self._wait_seconds <= 0:
            raise StatusUnavailable(f"Redis unavailable for {task.correlation_id}")
        log.warning(
            "Redis unavailable: %s of %s waits up to %gs for it",
            task.status.value,
            task.correlation_id,
            self._wait_seconds,
        )
        done: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._waiters[task.correlation_id] = (task, done)
        try:
            async with asyncio.timeout(self._wait_seconds):
                return await done
        except TimeoutError:
            raise StatusUnavailable(
                f"Redis unavailable for {self._wait_seconds:g}s ({task.correlation_id})"
            ) from None
        finally:
            if self._waiters.get(task.correlation_id, (None, None))[1] is done:
                del self._waiters[task.correlation_id]

    async def advance(self, task: Task, *, required: bool = True) -> Task:
        """Write ``task`` and return what is stored; raise TaskStopped over a terminal task."""
        result = await self.write(task, required=required)
        if result is None or result.applied:
            return task
        current = result.current
        if current is not None and current.is_terminal:
            raise TaskStopped(current.status.value)
        return task

    async def flush(self) -> int:
        """Try every buffered update once; return how many are still pending."""
        for task in list(self._pending.values()):
            try:
                result = await self._call(lambda t=task: self._put(t))  # type: ignore[misc]
            except StatusUnavailable:
                break
            self._settle(task, result)
        if not self._pending:
            log.info("buffered status updates written")
        return len(self._pending)

    async def run_flusher(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            if self._pending:
                await self.flush()

    async def _put(self, task: Task) -> WriteResult:
        """One compare-and-set; a refusal that finds ``task`` itself stored is this write."""
        result = await self._store.put(task)
        if not result.applied and result.current == task:
            return WriteResult(applied=True, current=result.current)
        return result

    def _buffer(self, task: Task) -> None:
        self._pending[task.correlation_id] = task
        self._pending.move_to_end(task.correlation_id)
        while len(self._pending) > self._buffer_size:
            dropped, _ = self._pending.popitem(last=False)
            log.warning("status buffer full: dropped pending update of %s", dropped)

    def _settle(self, task: Task, result: WriteResult) -> None:
        if self._pending.get(task.correlation_id) is task:
            del self._pending[task.correlation_id]
        waiter = self._waiters.get(task.correlation_id)
        if waiter is not None and waiter[0] is task and not waiter[1].done():
            waiter[1].set_result(result)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """One attempt; the retry machinery is built only when that attempt fails."""
        breaker = await self._breakers.get_breaker("redis")
        try:
            async with breaker:
                return await operation()
        except OpenedState as exc:
            raise StatusUnavailable("Redis circuit is open") from exc
        except _TRANSIENT as exc:
            if self._attempts <= 1:
                raise StatusUnavailable(f"Redis unavailable: {exc!r}") from exc
        return await self._retry(operation, breaker)

    async def _retry(self, operation: Callable[[], Awaitable[T]], breaker: Any) -> T:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts - 1),
                wait=self._wait,
                retry=retry_if_exception_type(_TRANSIENT),
                reraise=False,
            ):
                with attempt:
                    async with breaker:
                        return await operation()
        except OpenedState as exc:
            raise StatusUnavailable("Redis circuit is open") from exc
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise StatusUnavailable(f"Redis unavailable: {cause!r}") from cause
        raise AssertionError("unreachable")  # pragma: no cover
