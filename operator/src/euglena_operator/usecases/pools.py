"""AgentPool use-case: one autoscaling pass for one pool."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from euglena.errors import DependencyUnavailable, Severity
from euglena.ports import WorkerDirectory
from euglena_operator.conditions import now_rfc3339, set_condition
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

log = logging.getLogger(__name__)
PLURAL = "agentpools"


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
        queue = spec.get("queue") or {}
        return cls(
            target=str(spec["scaleTargetRef"]["name"]),
            queue=str(queue.get("name", "agent.mandates")),
            vhost=str(queue.get("vhost", "/")),
            bounds=PoolBounds(
                min_replicas=int(spec.get("minReplicas", 0)),
                max_replicas=int(spec.get("maxReplicas", 10)),
                target_per_replica=int(spec.get("targetPerReplica", 5)),
                activation_threshold=int(spec.get("activationThreshold", 0)),
            ),
            polling_interval=float(spec.get("pollingIntervalSeconds", 5)),
            stabilization=float(spec.get("scaleDownStabilizationSeconds", 60)),
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
    events: list[tuple[str, str, str]]


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
        events: list[tuple[str, str, str]] = []
        try:
            depth = await self._queues.depth(spec.vhost, spec.queue)
            scale = await self._kube.read_scale(namespace, spec.target)
        except (QueueUnavailable, ScaleTargetMissing) as exc:
            reason = "QueueUnavailable" if isinstance(exc, QueueUnavailable) else "TargetNotFound"
            events += self._condition(state, "Ready", "False", reason, str(exc), generation)
            return PassResult(
                {"conditions": state.conditions, "observedGeneration": generation}, events
            )
        events += self._condition(
            state, "Ready", "True", "Reconciled", f"reading queue {spec.queue!r}", generation
        )
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
            "Active",
            "True" if active else "False",
            "MessagesQueued" if active else "QueueIdle",
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
    ) -> tuple[str, str, str]:
        direction = "up" if desired > current else "down"
        if direction == "down" and selector:
            await self.mark_deletion_costs(namespace, selector)
        await self._kube.patch_scale(namespace, spec.target, desired)
        self._metrics.scale_operations.labels(namespace, name, direction).inc()
        log.info(
            "scaled %s/%s %s from %d to %d", namespace, spec.target, direction, current, desired
        )
        reason = "ScaledUp" if direction == "up" else "ScaledDown"
        return "Normal", reason, f"scaled deployment {spec.target} from {current} to {desired}"

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
        type_: str,
        status: str,
        reason: str,
        message: str,
        generation: int | None,
    ) -> list[tuple[str, str, str]]:
        before = {c["type"]: c["status"] for c in state.conditions}
        state.conditions = set_condition(
            state.conditions,
            type_=type_,
            status=status,
            reason=reason,
            message=message,
            generation=generation,
        )
        if before.get(type_) == status or (type_ == "Active"):
            return []
        return [("Normal" if status == "True" else "Warning", reason, message)]

    def _record(
        self, namespace: str, name: str, depth: QueueDepth, desired: int, current: int
    ) -> None:
        m = self._metrics
        m.queue_messages.labels(namespace, name, "ready").set(depth.ready)
        m.queue_messages.labels(namespace, name, "unacked").set(depth.unacked)
        m.consumers.labels(namespace, name).set(depth.consumers)
        m.desired_replicas.labels(namespace, name).set(desired)
        m.current_replicas.labels(namespace, name).set(current)
