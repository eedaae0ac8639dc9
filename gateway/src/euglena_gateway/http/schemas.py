"""Request and response bodies of the public API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from euglena.status import TaskStatus
from euglena.task import Task, TaskSource


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mandate: str = Field(description="What the agent should do.")
    max_ticks: StrictInt = Field(description="Most reasoning steps the agent may take.")
    user_id: uuid.UUID | None = Field(
        default=None, description="Service role only: the user the task is submitted for."
    )
    correlation_id: uuid.UUID | None = Field(
        default=None, description="Service role only: idempotency key; a repeat returns the task."
    )
    source: TaskSource | None = Field(default=None, description="Service role only.")


class SubmitResponse(BaseModel):
    correlation_id: uuid.UUID
    status: TaskStatus
    task: Task


class TaskPage(BaseModel):
    items: list[Task]
    next_cursor: str | None = None


class WorkerCount(BaseModel):
    count: int


class CancelResponse(BaseModel):
    task: Task
