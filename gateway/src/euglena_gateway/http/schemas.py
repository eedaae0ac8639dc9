"""Request and response bodies of the public API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from euglena.status import TaskStatus
from euglena.task import Task, TaskSource


def _whole_number(value: object) -> object:
    """A JSON integer: 3 or 3.0 (JSON Schema's integer), never "3", true or 2.5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mandate: str = Field(
        description="What the agent should do: at least one character that is not whitespace, "
        "no NUL; at most MAX_MANDATE_LENGTH characters."
    )
    max_ticks: WholeNumber = Field(
        description="Most reasoning steps the agent may take, 1..MAX_TICKS; each reserves a "
        "tick of the owner's daily quota until the task ends."
    )
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


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. quota_exceeded.")
    message: str = Field(description="What went wrong, for people.")
    details: Any = Field(default=None, description="Structured details, or null.")


class Problem(BaseModel):
    """The body of every error response."""

    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str] = Field(
        description="Per dependency: ok, timeout after N s, or error: <kind>."
    )


class UiConfig(BaseModel):
    supabase_url: str
    supabase_anon_key: str
    dev_login: bool
    max_mandate_length: int
    max_ticks: int
