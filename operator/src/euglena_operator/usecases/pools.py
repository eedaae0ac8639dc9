"""AgentPool use-case: one autoscaling pass for one pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from euglena.errors import DependencyUnavailable, Severity
from euglena.ports import WorkerDirectory
from euglena_operator.conditions import Transition, now_rfc3339, set_condition
from euglena_operator.errors import QueueUnavailable, ScaleTargetMissing
from euglena_operator.metrics import Metrics
from euglena_operator.ports import ClusterApi, QueueReader
from euglena_operator.scaling import (
    DELETION_COST_ANNOTATION,
    PoolBounds,
    QueueDepth,
    StabilizationWindow,
    deletion_cost,
    recommend,
    states_by_pod,
)
from euglena_operator.vocabulary import ConditionStatus, ConditionType, EventType, Reason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    target: str
    queue: str
    vhost: str
    bounds: PoolBounds
    polling_interval: float
    stabilization: float

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> PoolSpec:
        """Read a spec as the API server hands it out: every default filled in from the CRD
        (``crds/agentpools.euglena.dev.yaml``), the one place defaults are written down."""
        queue = spec["queue"]
        return cls(
            target=str(spec["scaleTargetRef"]["name"]),
            queue=str(queue["name"]),
            vhost=str(queue["vhost"]),
            bounds=PoolBounds(
                min_replicas=int(spec["minReplicas"]),
                max_replicas=int(spec["maxReplicas"]),
                target_per_replica=int(spec["targetPerReplica"]),
                activation_threshold=int(spec["activationThreshold"]),
            ),
            polling_interval=float(spec["pollingIntervalSeconds"]),
            stabilization=float(spec["scaleDownStabilizationSeconds"]),
        )


@dataclass(slots=True)
class PoolState:
    """What one pool's loop remembers between passes (lost on restart, then re-seeded)."""

    window: StabilizationWindow
    seeded: bool = False
    conditions: list[dict[str, Any]] = field(default_factory=list)
    last_scale_time: str | None = None


@dataclass(frozen=True, slots=True)
class PassResult:
    status: dict[str, Any]
    events: list[Transition]


class PoolAutoscaler:
    def __init__(
        self,
        *,
        kube: ClusterApi,
        queues: QueueReader,
        workers: WorkerDirectory,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self._queues = queues
        self._workers = workers
        self._metrics = metrics
        self._clock = clock

    async def reconcile(
        self, namespace: str, name: str, spec: PoolSpec, state: PoolState, generation: int | None
    ) -> PassResult:
        events: list[Transition] = []
        ready, active_type = ConditionType.READY, ConditionType.ACTIVE
        yes, no = ConditionStatus.TRUE, ConditionStatus.FALSE
        try:
            depth = await self._queues.depth(spec.vhost, spec.queue)
            scale = await self._kube.read_scale(namespace, spec.target)
        except (QueueUnavailable, ScaleTargetMissing) as exc:
            reason = (
                Reason.QUEUE_UNAVAILABLE
                if isinstance(exc, QueueUnavailable)
                else Reason.TARGET_NOT_FOUND
            )
            events += self._condition(state, ready, no, reason, str(exc), generation)
            return PassResult(
                {"conditions": state.conditions, "observedGeneration": generation}, events
            )
        message = f"reading queue {spec.queue!r}"
        events += self._condition(state, ready, yes, Reason.RECONCILED, message, generation)
        now = self._clock()
        state.window.seconds = spec.stabilization
        if not state.seeded:
            state.window.seed(now, scale.replicas)
            state.seeded = True
        desired = state.window.decide(now, recommend(depth, spec.bounds), scale.replicas)
        if desired != scale.replicas:
            events.append(
                await self._apply(namespace, name, spec, scale.replicas, desired, scale.selector)
            )
            state.last_scale_time = now_rfc3339()
        active = depth.total > spec.bounds.activation_threshold
        events += self._condition(
            state,
            active_type,
            yes if active else no,
            Reason.MESSAGES_QUEUED if active else Reason.QUEUE_IDLE,
            f"{depth.ready} ready, {depth.unacked} unacknowledged",
            generation,
        )
        self._record(namespace, name, depth, desired, scale.observed)
        status = {
            "queue": {
                "ready": depth.ready,
                "unacked": depth.unacked,
                "source": self._queues.source,
            },
            "consumers": depth.consumers,
            "currentReplicas": scale.observed,
            "desiredReplicas": desired,
            "observedGeneration": generation,
            "conditions": state.conditions,
        }
        if state.last_scale_time:
            status["lastScaleTime"] = state.last_scale_time
        return PassResult(status, events)

    async def _apply(
        self,
        namespace: str,
        name: str,
        spec: PoolSpec,
        current: int,
        desired: int,
        selector: str,
    ) -> Transition:
        direction = "up" if desired > current else "down"
        if direction == "down" and selector:
            await self.mark_deletion_costs(namespace, selector)
        await self._kube.patch_scale(namespace, spec.target, desired)
        self._metrics.scale_operations.labels(namespace, name, direction).inc()
        log.info(
            "scaled %s/%s %s from %d to %d", namespace, spec.target, direction, current, desired
        )
        reason = Reason.SCALED_UP if direction == "up" else Reason.SCALED_DOWN
        message = f"scaled deployment {spec.target} from {current} to {desired}"
        return Transition(EventType.NORMAL, reason, message)

    async def mark_deletion_costs(self, namespace: str, selector: str) -> dict[str, int]:
        """Annotate the target's pods so the ReplicaSet removes idle workers first."""
        try:
            states = states_by_pod(await self._workers.live_workers())
        except DependencyUnavailable as exc:
            Severity.DEGRADED.log(
                log, "worker heartbeats unavailable, deletion costs left as they are: %s", exc
            )
            return {}
        costs: dict[str, int] = {}
        for pod in await self._kube.list_pods(namespace, selector):
            if pod.terminating:
                continue
            cost = deletion_cost(states.get(pod.name))
            costs[pod.name] = cost
            if pod.annotations.get(DELETION_COST_ANNOTATION) != str(cost):
                await self._kube.annotate_pod(
                    namespace, pod.name, {DELETION_COST_ANNOTATION: str(cost)}
                )
        return costs

    def _condition(
        self,
        state: PoolState,
        type_: ConditionType,
        status: ConditionStatus,
        reason: Reason,
        message: str,
        generation: int | None,
    ) -> list[Transition]:
        """Set a condition; an Event when Ready flips (Active changes every pass: no Event)."""
        before = {c["type"]: c["status"] for c in state.conditions}
        state.conditions = set_condition(
            state.conditions,
            type_=type_,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
        )
        if before.get(type_) == status or type_ is ConditionType.ACTIVE:
            return []
        kind = EventType.NORMAL if status is ConditionStatus.TRUE else EventType.WARNING
        return [Transition(kind, reason, message)]

    def _record(
        self, namespace: str, name: str, depth: QueueDepth, desired: int, current: int
    ) -> None:
        m = self._metrics
        m.queue_messages.labels(namespace, name, "ready").set(depth.ready)
        m.queue_messages.labels(namespace, name, "unacked").set(depth.unacked)
        m.consumers.labels(namespace, name).set(depth.consumers)
        m.desired_replicas.labels(namespace, name).set(desired)
        m.current_replicas.labels(namespace, name).set(current)
