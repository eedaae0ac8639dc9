"""Errors of the agent worker.

::

    EuglenaError (euglena.errors)
    └── AgentError
        ├── TaskStopped            the task became terminal elsewhere (cancelled) — stop, ack
        ├── StatusUnavailable      Redis could not take a status write (retries exhausted or
        │                          circuit open) — requeue the message
        ├── UnsupportedMessage     a message this worker cannot handle (e.g. a newer schema
        │                          version) — requeue; dead-lettered after the delivery limit
        ├── UnreadableMessage      a message that is no task message at all — dead-letter
        ├── ModelError             the chat model could not be reached or answered an error
        │   └── MalformedOutput    the model answered something that is not a valid action
        └── ToolError              a tool failed; the loop records it as the tick's observation
            └── VisitRefused       `visit` refused a URL (private address, type, size)

The consumer translates them at its edge, in one table (``consumer.FAILURES``): ack,
nack-requeue, or dead-letter, each with the severity it is logged at.
"""

from __future__ import annotations

from euglena.errors import EuglenaError


class AgentError(EuglenaError):
    """Base of errors raised on purpose by the agent."""


class TaskStopped(AgentError):
    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(f"task is already {status}")


class StatusUnavailable(AgentError):
    pass


class UnsupportedMessage(AgentError):
    pass


class UnreadableMessage(AgentError):
    pass


class ModelError(AgentError):
    pass


class MalformedOutput(ModelError):
    def __init__(self, message: str, *, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        super().__init__(message)


class ToolError(AgentError):
    pass


class VisitRefused(ToolError):
    pass
