"""Counting live agent workers."""

from __future__ import annotations

from euglena_gateway.usecases.ports import WorkerDirectory


async def count_workers(directory: WorkerDirectory) -> int:
    return len(await directory.live_workers())
