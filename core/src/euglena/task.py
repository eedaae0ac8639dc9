"""The task: one mandate handed to an agent, the same shape everywhere it is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from euglena.status import TaskStatus, can_transition


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z`` suffix; sortable as text."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


Timestamp = Annotated[datetime, PlainSerializer(to_rfc3339, return_type=str, when_used="json")]


class TaskSource(StrEnum):
    API = "api"
    KUBERNETES = "kubernetes"


class Task(BaseModel):
    """A task as seen by every component (Redis JSON, Postgres row, API body, CR status)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    correlation_id: uuid.UUID
    user_id: uuid.UUID
    mandate: str
    max_ticks: int = Field(ge=1)
    status: TaskStatus = TaskStatus.PENDING
    ticks: int = Field(default=0, ge=0)
    result: str | None = None
    error: str | None = None
    worker_id: str | None = None
    last_action: str | None = None
    usage: dict[str, int] | None = None
    source: TaskSource = TaskSource.API
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def evolve(self, **changes: Any) -> Task:
        """A copy with ``changes`` applied and ``updated_at`` moved strictly forward."""
        now = utcnow()
        if now <= self.updated_at:
            now = self.updated_at + _ONE_US
        data = self.model_dump()
        data.update(changes)
        data["updated_at"] = now
        status = TaskStatus(data["status"])
        if status is not self.status and status in _STARTING and data.get("started_at") is None:
            data["started_at"] = now
        if status.is_terminal and data.get("completed_at") is None:
            data["completed_at"] = now
        return Task.model_validate(data)

    def supersedes(self, other: Task) -> bool:
        """Whether this version of the task may replace ``other`` (newer and a legal move)."""
        if other.is_terminal:
            return False
        return self.updated_at > other.updated_at and can_transition(other.status, self.status)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Task:
        return cls.model_validate_json(raw)


_STARTING = frozenset({TaskStatus.STARTED, TaskStatus.IN_PROGRESS})
_ONE_US = timedelta(microseconds=1)


def new_task(
    *,
    user_id: uuid.UUID,
    mandate: str,
    max_ticks: int,
    source: TaskSource = TaskSource.API,
    correlation_id: uuid.UUID | None = None,
) -> Task:
    now = utcnow()
    return Task(
        correlation_id=correlation_id or uuid.uuid4(),
        user_id=user_id,
        mandate=mandate,
        max_ticks=max_ticks,
        source=source,
        created_at=now,
        updated_at=now,
    )
