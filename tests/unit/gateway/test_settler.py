"""The Settler: when finished tasks nobody read are persisted, and that an outage never stops it."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import pytest

from euglena.status import TaskStatus
from euglena.task import Task, new_task, utcnow
from euglena_devkit.in_memory import InMemoryStatusStore, InMemoryTaskStore
from euglena_devkit.waiting import until
from euglena_gateway.usecases.settle import Settler
from euglena_gateway.usecases.storage import StorageManager


async def _finished_unread(rows: InMemoryTaskStore, live: InMemoryStatusStore) -> Task:
    task = new_task(user_id=rows.add_user(), mandate="m", max_ticks=1)
    await rows.create(task)
    done = task.evolve(status=TaskStatus.COMPLETED, result="r")
    live.tasks[task.correlation_id] = done
    return done


async def test_a_task_is_settled_once_its_grace_period_is_over() -> None:
    rows, live = InMemoryTaskStore(), InMemoryStatusStore()
    done = await _finished_unread(rows, live)
    now: list[datetime] = [done.updated_at + timedelta(seconds=29)]
    settler = Settler(StorageManager(rows, live), interval=15, grace=30, clock=lambda: now[0])

    assert await settler.settle_once() == 0  # a reader watching it usually syncs it first
    assert rows.rows[done.correlation_id].status is TaskStatus.PENDING

    now[0] = done.updated_at + timedelta(seconds=30)
    assert await settler.settle_once() == 1
    assert rows.rows[done.correlation_id] == done and live.tasks == {}


async def test_the_loop_outlives_an_outage_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    rows, live = InMemoryTaskStore(), InMemoryStatusStore()
    done = await _finished_unread(rows, live)
    live.down = True
    settler = Settler(StorageManager(rows, live), interval=0.001, grace=0, clock=utcnow)
    running = asyncio.create_task(settler.run())
    try:
        with caplog.at_level(logging.WARNING):
            await until(lambda: live.calls.count("scan") >= 2, timeout=5, what="two passes")
            live.down = False
            await until(lambda: live.tasks == {}, timeout=5, what="the task settled")
    finally:
        running.cancel()
    assert rows.rows[done.correlation_id] == done
    outage = [r for r in caplog.records if "settling finished tasks failed" in r.getMessage()]
    assert outage and all(r.levelno == logging.WARNING and not r.exc_info for r in outage)
