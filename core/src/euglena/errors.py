"""Errors of the shared core.

::

    EuglenaError
    ├── InvalidTransition      a writer tried to move a task backwards or out of a terminal state
    ├── DependencyUnavailable  Redis, RabbitMQ, Postgres… could not be reached in time
    ├── QuotaExceeded          a submission would pass the owner's daily tick limit
    ├── UnknownUser            the task's owner does not exist
    └── ConfigurationError     settings that cannot work (e.g. a dev secret in production)

Services translate these only at their edges (HTTP problem JSON, kopf errors, AMQP requeue).
"""

from __future__ import annotations


class EuglenaError(Exception):
    """Base of every error raised on purpose by Euglena code."""


class InvalidTransition(EuglenaError):
    pass


class DependencyUnavailable(EuglenaError):
    def __init__(self, dependency: str, detail: str = "") -> None:
        self.dependency = dependency
        self.detail = detail
        super().__init__(f"{dependency} is unavailable" + (f": {detail}" if detail else ""))


class ConfigurationError(EuglenaError):
    pass


class QuotaExceeded(EuglenaError):
    def __init__(self, used: int, limit: int, requested: int) -> None:
        self.used, self.limit, self.requested = used, limit, requested
        super().__init__(
            f"daily tick quota exceeded: {used} of {limit} ticks already reserved today (UTC), "
            f"{requested} more requested"
        )


class UnknownUser(EuglenaError):
    def __init__(self, user_id: object) -> None:
        self.user_id = user_id
        super().__init__(f"user {user_id} does not exist")
