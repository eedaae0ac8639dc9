"""The AMQP contract: queue names, queue arguments and the task message body.

The gateway (publisher) and the agents (consumers) declare the queues from these definitions so
the declarations are always identical; RabbitMQ refuses a redeclaration with other arguments.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from euglena.task import Task, TaskSource, Timestamp

MANDATES_QUEUE = "agent.mandates"
DEAD_LETTER_QUEUE = "agent.mandates.dead"
DEFAULT_DELIVERY_LIMIT = 5
MESSAGE_SCHEMA_VERSION = 1
CONTENT_TYPE = "application/json"


def mandates_queue_arguments(delivery_limit: int = DEFAULT_DELIVERY_LIMIT) -> dict[str, Any]:
    """Arguments of the durable quorum queue ``agent.mandates``.

    After ``delivery_limit`` failed deliveries RabbitMQ dead-letters the message through the
    default exchange into :data:`DEAD_LETTER_QUEUE`.
    """
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
    }


def dead_letter_queue_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


class TaskMessage(BaseModel):
    """Body of a message on ``agent.mandates``; ``message_id`` equals ``correlation_id``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = MESSAGE_SCHEMA_VERSION
    correlation_id: uuid.UUID
    user_id: uuid.UUID
    mandate: str = Field(min_length=1)
    max_ticks: int = Field(ge=1)
    source: TaskSource = TaskSource.API
    created_at: Timestamp

    @classmethod
    def from_task(cls, task: Task) -> TaskMessage:
        return cls(
            correlation_id=task.correlation_id,
            user_id=task.user_id,
            mandate=task.mandate,
            max_ticks=task.max_ticks,
            source=task.source,
            created_at=task.created_at,
        )

    def to_task(self) -> Task:
        """The task as it was submitted, for a consumer that finds no live copy in Redis."""
        return Task(
            correlation_id=self.correlation_id,
            user_id=self.user_id,
            mandate=self.mandate,
            max_ticks=self.max_ticks,
            source=self.source,
            created_at=self.created_at,
            updated_at=self.created_at,
        )

    def to_body(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_body(cls, body: bytes) -> TaskMessage:
        return cls.model_validate_json(body)
