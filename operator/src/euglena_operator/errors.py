"""Errors of the operator.

::

    EuglenaError (euglena.errors)
    ├── DependencyUnavailable        (core) Redis heartbeats could not be read
    └── OperatorError
        ├── GatewayCallError
        │   ├── GatewayUnavailable   network error, timeout or 5xx: retry later
        │   └── GatewayRejected      a 4xx answer: retrying the same request will not help
        │       └── QuotaRejected    429: the owner's daily tick quota is used up
        ├── QueueUnavailable         RabbitMQ (management API or AMQP) could not be read
        ├── ScaleTargetMissing       the AgentPool's Deployment does not exist
        └── KubernetesUnavailable    the Kubernetes API failed a request the operator made

The edges translate them: the kopf handlers (``handlers.to_kopf``: unavailable →
``kopf.TemporaryError(delay=…)``, anything else → ``kopf.PermanentError``; a refused submission
becomes a ``Failed`` status before it gets there), the AgentTask sync loop and the AgentPool
loops (which log and try again next pass). How loudly each is logged is :data:`SEVERITY`.
"""

from __future__ import annotations

from euglena.errors import DependencyUnavailable, EuglenaError, Severity


class OperatorError(EuglenaError):
    """Base of every error raised on purpose by the operator."""


class GatewayCallError(OperatorError):
    pass


class GatewayUnavailable(GatewayCallError):
    pass


class GatewayRejected(GatewayCallError):
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


SEVERITY: dict[type[Exception], Severity] = {
    GatewayUnavailable: Severity.DEGRADED,
    QueueUnavailable: Severity.DEGRADED,
    ScaleTargetMissing: Severity.DEGRADED,
    KubernetesUnavailable: Severity.DEGRADED,
    DependencyUnavailable: Severity.DEGRADED,
}
"""How each error is logged by the operator's loops; any other exception (a refused gateway
call there means a misconfigured service key, say) is UNEXPECTED."""

RETRYABLE = (GatewayUnavailable, KubernetesUnavailable, QueueUnavailable, DependencyUnavailable)
"""Errors that may go away by themselves: kopf retries them with a delay."""


def severity_of(exc: BaseException) -> Severity:
    return next((s for cls, s in SEVERITY.items() if isinstance(exc, cls)), Severity.UNEXPECTED)
