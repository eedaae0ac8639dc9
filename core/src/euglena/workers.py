"""Worker presence as agents publish it to Redis (``worker:status:{id}``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from euglena.task import Timestamp


class WorkerState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"


class WorkerStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    worker_id: str
    pod: str | None = None
    state: WorkerState = WorkerState.IDLE
    task_id: str | None = None
    processed: int = 0
    last_heartbeat: Timestamp
