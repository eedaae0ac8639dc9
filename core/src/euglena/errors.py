"""Errors of the shared core.

::

    EuglenaError
    ├── InvalidTransition      a writer tried to move a task backwards or out of a terminal state
    ├── DependencyUnavailable  Redis, RabbitMQ, Postgres… could not be reached in time
    │   └── PublishUnconfirmed a message was sent but never confirmed: it may be queued or not
    ├── QuotaExceeded          a submission would pass the owner's daily tick limit
    ├── UnknownUser            the task's owner does not exist
    └── ConfigurationError     settings that cannot work (e.g. a dev secret in production)

Services translate these only at their edges (HTTP problem JSON, kopf errors, AMQP requeue),
and each edge says there, in one table, how severe every error it maps is (:class:`Severity`).
"""

from __future__ import annotations

import logging
from enum import StrEnum


class EuglenaError(Exception):
    """Base of every error raised on purpose by Euglena code."""


class InvalidTransition(EuglenaError):
    pass


class DependencyUnavailable(EuglenaError):
    def __init__(self, dependency: str, detail: str = "") -> None:
        self.dependency = dependency
        self.detail = detail
        super().__init__(f"{dependency} is unavailable" + (f": {detail}" if detail else ""))


class PublishUnconfirmed(DependencyUnavailable):
    """The broker took the message off the wire but neither confirmed nor refused it in time
    (or the connection broke meanwhile): it may be queued, or not. Whoever recorded the task
    must reconcile, not guess: rolling back could leave a task running that nobody recorded."""


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


class Severity(StrEnum):
    """How an error is logged where a service maps it at its edge (the seed's strategy).

    - ``EXPECTED``: a rule doing its job (not found, quota, bad input) — DEBUG, no traceback.
    - ``DEGRADED``: the service goes on, but something around it is wrong (a dependency away,
      the work retried or answered 503; a message nobody can read) — WARNING, no traceback.
    - ``UNEXPECTED``: anything else — ERROR with the traceback.
    - ``CRITICAL``: the service cannot run at all (e.g. configuration refused at start-up) —
      CRITICAL, with the traceback when one is given.
    """

    EXPECTED = "expected"
    DEGRADED = "degraded"
    UNEXPECTED = "unexpected"
    CRITICAL = "critical"

    @property
    def level(self) -> int:
        return _LEVELS[self]

    def log(
        self, logger: logging.Logger, message: str, *args: object, exc: BaseException | None = None
    ) -> None:
        """Log ``message`` at this severity's level, with the traceback where it has one."""
        traceback = exc if self in (Severity.UNEXPECTED, Severity.CRITICAL) else None
        logger.log(self.level, message, *args, exc_info=traceback)


_LEVELS = {
    Severity.EXPECTED: logging.DEBUG,
    Severity.DEGRADED: logging.WARNING,
    Severity.UNEXPECTED: logging.ERROR,
    Severity.CRITICAL: logging.CRITICAL,
}
