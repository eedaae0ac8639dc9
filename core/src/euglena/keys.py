"""Redis key names shared by the gateway (writer/reader), agents (writers) and the operator."""

from __future__ import annotations

TASK_TTL_SECONDS = 600
"""Seconds a ``task:{id}`` key lives after its last write (nothing leaks if a sync fails)."""

DEFAULT_WORKER_STATUS_SET_KEY = "workers:status"


TASK_KEY_PATTERN = "task:*"
"""Matches every ``task:{id}`` key (and no other Euglena key)."""


def task_key(correlation_id: object) -> str:
    return f"task:{correlation_id}"


def worker_status_key(worker_id: str) -> str:
    return f"worker:status:{worker_id}"


def task_events_channel(correlation_id: object) -> str:
    """Pub/sub channel that carries every accepted write of ``task:{id}`` (for live streams)."""
    return f"task-events:{correlation_id}"
