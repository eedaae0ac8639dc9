"""Errors of the operator.

::

    EuglenaError (euglena.errors)
    └── OperatorError
        ├── GatewayError
        │   ├── GatewayUnavailable   network error, timeout or 5xx: retry later
        │   └── GatewayRejected      a 4xx answer: retrying the same request will not help
        │       └── QuotaRejected    429: the owner's daily tick quota is used up
        ├── QueueUnavailable         RabbitMQ (management API or AMQP) could not be read
        ├── ScaleTargetMissing       the AgentPool's Deployment does not exist
        └── KubernetesUnavailable    the Kubernetes API failed a request the operator made

Kopf handlers translate them at the edge: unavailable → ``kopf.TemporaryError(delay=…)``,
rejected → a ``Failed`` status (and ``kopf.PermanentError`` where kopf should stop retrying).
"""

from __future__ import annotations

from euglena.errors import EuglenaError


class OperatorError(EuglenaError):
    """Base of every error raised on purpose by the operator."""


class GatewayError(OperatorError):
    pass


class GatewayUnavailable(GatewayError):
    pass


class GatewayRejected(GatewayError):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        super().__init__(f"gateway refused the request ({status_code} {code}): {message}")


class QuotaRejected(GatewayRejected):
    pass


class QueueUnavailable(OperatorError):
    pass


class ScaleTargetMissing(OperatorError):
    pass


class KubernetesUnavailable(OperatorError):
    pass
