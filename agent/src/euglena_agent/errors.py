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
        │   │                      (transient: retried, honouring Retry-After)
        │   ├── ModelRejected      the server refused the request (a 4xx other than 408/429):
        │   │   │                  not retried; its message becomes the task's error
        │   │   └── ContextOverflow  the prompt does not fit the model's context window
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
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ModelRejected(ModelError):
    pass


class ContextOverflow(ModelRejected):
    pass


class MalformedOutput(ModelError):
    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        reply: str = "",
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.reply = reply
        super().__init__(message)


class ToolError(AgentError):
    pass


class VisitRefused(ToolError):
    pass
