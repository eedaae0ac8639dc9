"""Worker presence: the one record of ``worker:status:{id}``.

Agents write it on every heartbeat (with a TTL of about three heartbeats, so a dead worker's
record expires); the gateway counts the live ones (``/agents/count``) and the operator reads
them to remove idle workers first on scale-down (pod deletion cost).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from euglena.task import Timestamp


class WorkerState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"


class WorkerStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    worker_id: str
    pod: str | None = Field(default=None, description="Pod (or host) the worker runs in.")
    state: WorkerState = WorkerState.IDLE
    task_id: str | None = Field(default=None, description="The oldest task it holds, if any.")
    in_flight: int = Field(default=0, ge=0, description="Tasks it holds right now.")
    processed: int = Field(default=0, ge=0, description="Tasks it has finished.")
    last_heartbeat: Timestamp
