"""Gateway task → AgentTask status: phases, conditions and Events a kubectl user sees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from euglena.status import TaskStatus
from euglena.task import Task, TaskSource, new_task
from euglena_operator.conditions import get_condition, set_condition
from euglena_operator.mirroring import failed_status, mirror_task, submitted_status
from euglena_operator.vocabulary import Reason, is_terminal_phase

REASON_DEADLINE = Reason.DEADLINE_EXCEEDED


def task(**changes: Any) -> Task:
    base = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=5, source=TaskSource.KUBERNETES)
    return base.evolve(**changes) if changes else base


def test_completion_time_rounds_up_so_a_ttl_never_ends_early() -> None:
    finished = datetime(2027, 1, 15, 8, 0, 29, 400_000, tzinfo=UTC)
    done = task(status=TaskStatus.COMPLETED, result="r").model_copy(
        update={"completed_at": finished}
    )
    assert mirror_task({}, done, 1).patch["completionTime"] == "2027-01-15T08:00:30Z"  # type: ignore[index]
    exact = done.model_copy(update={"completed_at": finished.replace(microsecond=0)})
    assert mirror_task({}, exact, 1).patch["completionTime"] == "2027-01-15T08:00:29Z"  # type: ignore[index]


def test_submission_sets_submitted_condition_and_correlation_id() -> None:
    t = task()
    status = submitted_status(t, generation=1)
    assert status["phase"] == "Submitted"
    assert status["correlationId"] == str(t.correlation_id)
    condition = get_condition(status["conditions"], "Submitted")
    assert condition is not None and condition["status"] == "True"
    assert condition["observedGeneration"] == 1


def test_resubmission_of_a_finished_task_mirrors_it_at_once() -> None:
    t = task(status=TaskStatus.COMPLETED, ticks=3, result="done")
    status = submitted_status(t, generation=1)
    assert status["phase"] == "Completed"
    assert status["result"] == "done"
    assert get_condition(status["conditions"], "Complete")["status"] == "True"  # type: ignore[index]


def test_running_then_completed_produce_one_event_each() -> None:
    t = task()
    status = submitted_status(t, generation=1)
    running = t.evolve(status=TaskStatus.IN_PROGRESS, ticks=2, worker_id="w-1")
    first = mirror_task(status, running, 1)
    assert first.patch is not None and first.patch["phase"] == "Running"
    assert first.patch["workerId"] == "w-1"
    assert [e.reason for e in first.events] == ["Started"]
    status.update(first.patch)

    again = mirror_task(status, running, 1)
    assert again.patch is None and again.events == []

    done = running.evolve(status=TaskStatus.COMPLETED, ticks=3, result="answer")
    final = mirror_task(status, done, 1)
    assert final.patch is not None
    assert final.patch["phase"] == "Completed"
    assert final.patch["result"] == "answer"
    assert final.patch["completionTime"].endswith("Z")
    assert get_condition(final.patch["conditions"], "Complete")["reason"] == "TaskCompleted"  # type: ignore[index]
    assert [(e.type, e.reason) for e in final.events] == [("Normal", "TaskCompleted")]


@pytest.mark.parametrize(
    ("outcome", "phase", "reason"),
    [(TaskStatus.FAILED, "Failed", "TaskFailed"), (TaskStatus.CANCELLED, "Cancelled", "Cancelled")],
)
def test_failure_and_cancellation_set_failed_condition(
    outcome: TaskStatus, phase: str, reason: str
) -> None:
    t = task()
    status = submitted_status(t, generation=1)
    result = mirror_task(status, t.evolve(status=outcome, error="boom"), 1)
    assert result.patch is not None and result.patch["phase"] == phase
    failed = get_condition(result.patch["conditions"], "Failed")
    assert failed is not None and failed["reason"] == reason and failed["message"] == "boom"
    assert result.events[0].type == "Warning"


def test_terminal_status_is_final() -> None:
    status = {"phase": "Failed", "reason": REASON_DEADLINE}
    late = task(status=TaskStatus.COMPLETED, result="late")
    assert mirror_task(status, late, 1).patch is None
    assert is_terminal_phase("Failed") and not is_terminal_phase("Running")


def test_deadline_failure_status() -> None:
    status = failed_status({}, reason=REASON_DEADLINE, message="too slow", generation=2)
    assert status["phase"] == "Failed"
    assert get_condition(status["conditions"], "Failed")["reason"] == REASON_DEADLINE  # type: ignore[index]


def test_condition_transition_time_moves_only_on_status_flip() -> None:
    first = set_condition(
        None, type_="Ready", status="True", reason="A", message="", now="2024-01-01T00:00:00Z"
    )
    same = set_condition(
        first, type_="Ready", status="True", reason="B", message="x", now="2024-01-02T00:00:00Z"
    )
    assert same[0]["lastTransitionTime"] == "2024-01-01T00:00:00Z"
    assert same[0]["reason"] == "B"
    flipped = set_condition(
        same, type_="Ready", status="False", reason="C", message="", now="2024-01-03T00:00:00Z"
    )
    assert flipped[0]["lastTransitionTime"] == "2024-01-03T00:00:00Z"
    assert datetime.now(UTC).year >= 2024
