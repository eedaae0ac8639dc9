"""The operator's vocabulary, in one place: the API it serves, and every word users and alerts
match on (phases, condition types, reasons, Event types) or dashboards count (outcomes).

Values are a contract: ``kubectl wait --for=condition=Complete``, alert rules and the CRDs'
printer columns depend on them. The CRDs themselves (``crds/*.yaml``) are the one source of the
specs' defaults: the API server fills them in before the operator sees an object, so the
operator's code never repeats them.
"""

from __future__ import annotations

from enum import StrEnum

GROUP = "euglena.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
FINALIZER = f"{GROUP}/cancel-task"
"""Carried by an AgentTask that is not finished: deleting it cancels its task first."""
ANNOTATION_PREFIX = GROUP
"""kopf's progress and last-handled-configuration annotations (never ``.status``)."""
COMPONENT = "euglena-operator"
"""The reporting component of the operator's Events."""


class Kind(StrEnum):
    AGENT_TASK = "AgentTask"
    AGENT_POOL = "AgentPool"

    @property
    def plural(self) -> str:
        return f"{self.value.lower()}s"


class Phase(StrEnum):
    """``AgentTask.status.phase``."""

    PENDING = "Pending"
    SUBMITTED = "Submitted"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED})


def is_terminal_phase(phase: object) -> bool:
    return phase in _TERMINAL


class ConditionType(StrEnum):
    SUBMITTED = "Submitted"  # AgentTask: the gateway has the task
    COMPLETE = "Complete"  # AgentTask: it completed (never set on a failed one, as for Jobs)
    FAILED = "Failed"  # AgentTask: failed, cancelled, missed its deadline, or was refused
    READY = "Ready"  # AgentPool: queue and scale target are readable
    ACTIVE = "Active"  # AgentPool: the backlog is above the activation threshold


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"


class Reason(StrEnum):
    """Reasons of conditions and Events (CamelCase, stable)."""

    SUBMITTED = "Submitted"
    STARTED = "Started"
    TASK_COMPLETED = "TaskCompleted"
    TASK_FAILED = "TaskFailed"
    CANCELLED = "Cancelled"
    CANCEL_FAILED = "CancelFailed"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    SUBMISSION_FAILED = "SubmissionFailed"
    QUOTA_EXCEEDED = "QuotaExceeded"
    RECONCILED = "Reconciled"
    QUEUE_UNAVAILABLE = "QueueUnavailable"
    TARGET_NOT_FOUND = "TargetNotFound"
    MESSAGES_QUEUED = "MessagesQueued"
    QUEUE_IDLE = "QueueIdle"
    SCALED_UP = "ScaledUp"
    SCALED_DOWN = "ScaledDown"


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class CancelOutcome(StrEnum):
    """What cancelling a deleted AgentTask's gateway task came to."""

    CANCELLED = "cancelled"
    FINISHED = "finished"  # nothing to cancel: it had ended, or the gateway never had it
    UNREACHABLE = "unreachable"  # gave up within the budget; the deletion goes on


class GatewayOutcome(StrEnum):
    """``euglena_operator_gateway_requests_total{outcome}``."""

    OK = "ok"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"


class Handler(StrEnum):
    """``handler`` label of the error and duration metrics."""

    AGENTTASK_SUBMIT = "agenttask_submit"
    AGENTTASK_SYNC = "agenttask_sync"
    AGENTPOOL = "agentpool"
