"""Writes observations to long-term memory in the background, in batches.

A tick only hands its records over (:meth:`MemoryWriter.submit`, no I/O); a background task
writes them when a batch is full or when someone asks for a :meth:`flush` — the worker does at
the end of every task (after its terminal status, before its ack), so the user's next task can
recall them. No timer: a write in a thread during the ticks would take CPU from them. The
queue is bounded: when the store falls that far behind, the oldest records are dropped with a
warning. A failed write is logged and dropped; memory never fails a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from euglena_agent.ports import MemoryRecord, MemoryStore

log = logging.getLogger(__name__)


class MemoryWriter:
    def __init__(
        self,
        store: MemoryStore,
        *,
        max_pending: int = 4096,
        batch_size: int = 256,
    ) -> None:
        self._store = store
        self._pending: deque[MemoryRecord] = deque()
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: asyncio.Task[None] | None = None
        self._writing = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, records: Sequence[MemoryRecord]) -> None:
        """Queue ``records`` for writing; returns at once."""
        self._pending.extend(records)
        overflow = len(self._pending) - self._max_pending
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            log.warning("memory write queue full: dropped %d old observation pieces", overflow)
        if len(self._pending) >= self._batch_size:
            self._wake.set()
        self._ensure_running()

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait (at most ``timeout``) until everything submitted so far is written."""
        if not self._pending and not self._writing:
            return
        done = asyncio.get_running_loop().create_future()
        self._waiters.append(done)
        self._wake.set()
        self._ensure_running()
        try:
            # shielded: a cancelled task must not abort a write other tasks' records share
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            log.warning("memory writes still pending after %gs; continuing", timeout)

    async def close(self, timeout: float = 30.0) -> None:
        """Flush what is pending, then stop the background task."""
        await self.flush(timeout)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None

    def _ensure_running(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="memory-writer")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._write_all()

    async def _write_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        self._writing = True
        while self._pending:
            size = min(self._batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            try:
                await self._store.upsert(batch)
            except Exception:
                log.exception("memory: %d observation pieces could not be stored", len(batch))
        self._writing = False
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
