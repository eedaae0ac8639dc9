"""Gateway task → AgentTask status: the phase, fields, conditions and transition Events.

Pure functions over plain dicts, so the rules are unit-tested without Kubernetes.

``pending|accepted → Submitted``, ``started|in_progress → Running``, then ``Completed``,
``Failed`` or ``Cancelled``. Conditions follow metav1.Condition: ``Submitted`` once the gateway
has the task, ``Complete`` when it completed, ``Failed`` when it failed, was cancelled, missed its
deadline or could not be submitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from euglena.status import TaskStatus
from euglena.task import Task
from euglena_operator.conditions import Transition, set_condition
from euglena_operator.vocabulary import (
    ConditionStatus,
    ConditionType,
    EventType,
    Phase,
    Reason,
    is_terminal_phase,
)

PHASE_BY_STATUS: dict[TaskStatus, Phase] = {
    TaskStatus.PENDING: Phase.SUBMITTED,
    TaskStatus.ACCEPTED: Phase.SUBMITTED,
    TaskStatus.STARTED: Phase.RUNNING,
    TaskStatus.IN_PROGRESS: Phase.RUNNING,
    TaskStatus.COMPLETED: Phase.COMPLETED,
    TaskStatus.FAILED: Phase.FAILED,
    TaskStatus.CANCELLED: Phase.CANCELLED,
}

_REASON_BY_PHASE: dict[Phase, Reason] = {
    Phase.SUBMITTED: Reason.SUBMITTED,
    Phase.RUNNING: Reason.STARTED,
    Phase.COMPLETED: Reason.TASK_COMPLETED,
    Phase.FAILED: Reason.TASK_FAILED,
    Phase.CANCELLED: Reason.CANCELLED,
}


@dataclass(slots=True)
class Mirror:
    """What to write: a status patch (None when nothing changed) and the Events to post."""

    patch: dict[str, Any] | None = None
    events: list[Transition] = field(default_factory=list)


def k8s_time(value: datetime | None, *, round_up: bool = False) -> str | None:
    """Kubernetes' whole-second timestamp. ``round_up`` for a moment that starts a countdown
    (``ttlSecondsAfterFinished`` counts from ``completionTime``), so it never ends early."""
    if value is None:
        return None
    if round_up and value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def submitted_status(task: Task, generation: int | None) -> dict[str, Any]:
    """Status right after the gateway accepted (or already had) the task."""
    conditions = set_condition(
        None,
        type_=ConditionType.SUBMITTED,
        status=ConditionStatus.TRUE,
        reason=Reason.SUBMITTED,
        message=f"submitted to the gateway as task {task.correlation_id}",
        generation=generation,
    )
    status: dict[str, Any] = {
        "phase": Phase.SUBMITTED,
        "reason": Reason.SUBMITTED,
        "correlationId": str(task.correlation_id),
        "ticks": task.ticks,
        "observedGeneration": generation,
        "conditions": conditions,
    }
    follow_up = mirror_task(status, task, generation)
    if follow_up.patch:
        status.update(follow_up.patch)
    return status


def mirror_task(current: Mapping[str, Any], task: Task, generation: int | None) -> Mirror:
    """The patch that brings ``current`` status up to date with the gateway's ``task``."""
    phase = PHASE_BY_STATUS[task.status]
    wanted: dict[str, Any] = {
        "phase": phase,
        "ticks": task.ticks,
        "result": task.result,
        "error": task.error,
        "workerId": task.worker_id,
        "startTime": k8s_time(task.started_at),
        "completionTime": k8s_time(task.completed_at, round_up=True),
    }
    wanted = {key: value for key, value in wanted.items() if value is not None}
    old_phase = current.get("phase")
    if is_terminal_phase(old_phase):
        return Mirror()
    events: list[Transition] = []
    if phase != old_phase:
        wanted.update(_phase_entry(current, task, phase, generation))
        events.append(_phase_event(task, phase))
    patch = {key: value for key, value in wanted.items() if current.get(key) != value}
    return Mirror(patch=patch or None, events=events)


def _phase_entry(
    current: Mapping[str, Any], task: Task, phase: Phase, generation: int | None
) -> dict[str, Any]:
    conditions = current.get("conditions")
    reason = _REASON_BY_PHASE[phase]
    if phase is Phase.COMPLETED:
        conditions = set_condition(
            conditions,
            type_=ConditionType.COMPLETE,
            status=ConditionStatus.TRUE,
            reason=reason,
            message=f"completed after {task.ticks} ticks",
            generation=generation,
        )
    elif phase in (Phase.FAILED, Phase.CANCELLED):
        conditions = set_condition(
            conditions,
            type_=ConditionType.FAILED,
            status=ConditionStatus.TRUE,
            reason=reason,
            message=task.error or f"task {phase.lower()}",
            generation=generation,
        )
    entry: dict[str, Any] = {"reason": reason, "observedGeneration": generation}
    if conditions is not None:
        entry["conditions"] = conditions
    return entry


def _phase_event(task: Task, phase: Phase) -> Transition:
    normal, warning, reason = EventType.NORMAL, EventType.WARNING, _REASON_BY_PHASE[phase]
    if phase is Phase.RUNNING:
        return Transition(normal, reason, f"started by worker {task.worker_id}")
    if phase is Phase.COMPLETED:
        return Transition(normal, reason, f"completed after {task.ticks} ticks")
    if phase is Phase.FAILED:
        return Transition(warning, reason, task.error or "the agent failed the task")
    if phase is Phase.CANCELLED:
        return Transition(warning, reason, task.error or "the task was cancelled")
    return Transition(normal, reason, f"submitted as task {task.correlation_id}")


def failed_status(
    current: Mapping[str, Any], *, reason: Reason, message: str, generation: int | None
) -> dict[str, Any]:
    """Status patch for a failure the operator decides (deadline, rejected submission)."""
    conditions = set_condition(
        current.get("conditions"),
        type_=ConditionType.FAILED,
        status=ConditionStatus.TRUE,
        reason=reason,
        message=message,
        generation=generation,
    )
    return {
        "phase": Phase.FAILED,
        "reason": reason,
        "error": message,
        "completionTime": k8s_time(datetime.now(UTC), round_up=True),
        "observedGeneration": generation,
        "conditions": conditions,
    }
