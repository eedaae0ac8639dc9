"""Queue-depth scaling maths: what a pool owner sees in replica counts."""

from __future__ import annotations

import pytest

from euglena.task import utcnow
from euglena.workers import WorkerState, WorkerStatus
from euglena_operator.scaling import (
    BUSY_COST,
    IDLE_COST,
    PoolBounds,
    QueueDepth,
    StabilizationWindow,
    deletion_cost,
    recommend,
    states_by_pod,
)

BOUNDS = PoolBounds(min_replicas=0, max_replicas=4, target_per_replica=5)


def depth(ready: int, unacked: int = 0) -> QueueDepth:
    return QueueDepth(ready=ready, unacked=unacked, consumers=0)


@pytest.mark.parametrize(
    ("ready", "unacked", "expected"),
    [
        (0, 0, 0),
        (1, 0, 1),
        (5, 0, 1),
        (6, 0, 2),
        (30, 0, 4),  # 6 wanted, clamped to maxReplicas
        (0, 7, 2),  # unacknowledged messages are work in progress, not idleness
        (3, 3, 2),
    ],
)
def test_desired_is_ceil_of_backlog_per_replica_clamped(
    ready: int, unacked: int, expected: int
) -> None:
    assert recommend(depth(ready, unacked), BOUNDS) == expected


def test_activation_threshold_governs_only_zero_to_one() -> None:
    bounds = PoolBounds(
        min_replicas=0, max_replicas=10, target_per_replica=5, activation_threshold=3
    )
    assert recommend(depth(3), bounds) == 0
    assert recommend(depth(4), bounds) == 1
    assert recommend(depth(30), bounds) == 6


def test_min_replicas_holds_even_when_idle() -> None:
    bounds = PoolBounds(
        min_replicas=2, max_replicas=10, target_per_replica=5, activation_threshold=100
    )
    assert recommend(depth(0), bounds) == 2


def test_scale_up_is_immediate_and_scale_down_waits_for_the_window() -> None:
    window = StabilizationWindow(seconds=60)
    window.seed(0, 1)
    assert window.decide(1, 4, current=1) == 4
    # queue drained: the recent recommendation of 4 holds the pool up
    assert window.decide(10, 0, current=4) == 4
    assert window.decide(60, 0, current=4) == 4
    assert window.scale_down_eta(60, 0) == pytest.approx(1)
    # once 4 has left the window the pool may go to zero
    assert window.decide(62, 0, current=4) == 0


def test_scale_down_goes_to_the_highest_recent_recommendation() -> None:
    window = StabilizationWindow(seconds=30)
    window.seed(0, 4)
    window.decide(31, 3, current=4)
    window.decide(40, 1, current=4)
    assert window.decide(50, 0, current=4) == 3
    assert window.decide(62, 0, current=3) == 1


def test_window_of_zero_scales_down_at_once() -> None:
    window = StabilizationWindow(seconds=0)
    window.seed(0, 4)
    assert window.decide(1, 1, current=4) == 1


def test_deletion_cost_removes_idle_workers_first() -> None:
    busy, idle = WorkerState.BUSY, WorkerState.IDLE
    assert deletion_cost(busy) == BUSY_COST
    assert deletion_cost(idle) == IDLE_COST
    assert deletion_cost(idle) < deletion_cost(None) < deletion_cost(busy)


def test_a_pod_is_busy_when_any_of_its_workers_is() -> None:
    def worker(pod: str | None, state: WorkerState, n: int) -> WorkerStatus:
        return WorkerStatus(worker_id=f"w{n}", pod=pod, state=state, last_heartbeat=utcnow())

    workers = [
        worker("a", WorkerState.IDLE, 1),
        worker("a", WorkerState.BUSY, 2),
        worker("a", WorkerState.IDLE, 3),
        worker("b", WorkerState.IDLE, 4),
        worker(None, WorkerState.BUSY, 5),
    ]
    assert states_by_pod(workers) == {"a": WorkerState.BUSY, "b": WorkerState.IDLE}
