"""Queue-depth scaling maths, free of Kubernetes and RabbitMQ.

``desired = clamp(ceil((ready + unacked) / targetPerReplica), min, max)``

- Unacknowledged messages count: a worker holding a task is busy, not idle (KEDA's AMQP mode
  counts only ready messages and scales busy workers away).
- ``activationThreshold`` governs only 0 ↔ 1: with ``minReplicas == 0`` the pool stays at (or
  goes to) zero unless the backlog *exceeds* the threshold.
- Scale-up is immediate; scale-down goes only as low as the highest recommendation seen within
  ``scaleDownStabilizationSeconds`` (the HPA's stabilization window), so a momentary dip in the
  queue never removes workers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from euglena.workers import WorkerState, WorkerStatus


@dataclass(frozen=True, slots=True)
class PoolBounds:
    min_replicas: int
    max_replicas: int
    target_per_replica: int
    activation_threshold: int = 0


@dataclass(frozen=True, slots=True)
class QueueDepth:
    ready: int
    unacked: int
    consumers: int

    @property
    def total(self) -> int:
        return self.ready + self.unacked


def recommend(depth: QueueDepth, bounds: PoolBounds) -> int:
    """Replicas the queue asks for right now, before stabilization."""
    total = max(depth.total, 0)
    active = total > bounds.activation_threshold
    if not active:
        wanted = 0
    else:
        wanted = max(1, math.ceil(total / max(bounds.target_per_replica, 1)))
    return clamp(wanted, bounds.min_replicas, bounds.max_replicas)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, max(low, high)))


class StabilizationWindow:
    """Recent recommendations; a scale-down goes only to the highest one in the window."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._samples: deque[tuple[float, int]] = deque()

    def seed(self, now: float, replicas: int) -> None:
        """Start as if ``replicas`` had been recommended at ``now`` (e.g. after a restart)."""
        self._samples.clear()
        self._samples.append((now, replicas))

    def decide(self, now: float, recommendation: int, current: int) -> int:
        """Record ``recommendation`` and return the replica count to apply."""
        self._samples.append((now, recommendation))
        while self._samples and self._samples[0][0] < now - self.seconds:
            self._samples.popleft()
        if recommendation >= current:
            return recommendation
        stabilized = max(value for _, value in self._samples)
        return min(current, stabilized)

    def scale_down_eta(self, now: float, target: int) -> float | None:
        """Seconds until the window allows going down to ``target`` (None if it already does)."""
        blocking = [t for t, value in self._samples if value > target]
        if not blocking:
            return None
        return max(0.0, max(blocking) + self.seconds - now)


DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
BUSY_COST = 1000
UNKNOWN_COST = 0
IDLE_COST = -1000


def states_by_pod(workers: Iterable[WorkerStatus]) -> dict[str, WorkerState]:
    """Each pod's state from its workers' heartbeats: busy when any of them is busy."""
    states: dict[str, WorkerState] = {}
    for worker in workers:
        if worker.pod and states.get(worker.pod) is not WorkerState.BUSY:
            states[worker.pod] = worker.state
    return states


def deletion_cost(state: WorkerState | None) -> int:
    """Pod deletion cost from a worker's heartbeat state; the ReplicaSet removes lower first.

    Idle workers go first, busy ones last; a pod without a live heartbeat sits in between.
    """
    if state is WorkerState.BUSY:
        return BUSY_COST
    if state is WorkerState.IDLE:
        return IDLE_COST
    return UNKNOWN_COST
