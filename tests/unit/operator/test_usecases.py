"""Use-cases with in-memory adapters: one batched gateway read, deadlines, TTL, scaling order."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from crd_defaults import defaulted_spec

from euglena.status import TaskStatus
from euglena.task import Task, TaskSource, new_task, utcnow
from euglena.workers import WorkerState, WorkerStatus
from euglena_devkit.in_memory import InMemoryWorkers
from euglena_operator.conditions import Transition
from euglena_operator.errors import GatewayRejected, GatewayUnavailable, QuotaRejected
from euglena_operator.metrics import Metrics
from euglena_operator.ports import PodInfo, Scale
from euglena_operator.registry import TaskRegistry, parse_time
from euglena_operator.scaling import QueueDepth, StabilizationWindow
from euglena_operator.usecases.pools import PoolAutoscaler, PoolSpec, PoolState
from euglena_operator.usecases.tasks import (
    Backoff,
    TaskSynchronizer,
    cancel_on_delete,
    submit_task,
)
from euglena_operator.vocabulary import CancelOutcome, EventType, Kind, Phase, Reason

NOW = 1_800_000_000.0


class FakeGateway:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.reads: list[list[str]] = []
        self.cancelled: list[str] = []
        self.submitted: list[tuple[str, uuid.UUID, int]] = []
        self.refuse: Exception | None = None
        self.finished: set[str] = set()
        self.down = False

    async def get_many(self, ids: Sequence[str]) -> dict[str, Task]:
        if self.down:
            raise GatewayUnavailable("down")
        self.reads.append(list(ids))
        return {i: self.tasks[i] for i in ids if i in self.tasks}

    async def cancel(self, correlation_id: str) -> bool:
        if self.down:
            raise GatewayUnavailable("down")
        self.cancelled.append(correlation_id)
        return correlation_id not in self.finished

    async def submit(
        self, *, correlation_id: str, user_id: uuid.UUID, mandate: str, max_ticks: int
    ) -> Task:
        if self.down:
            raise GatewayUnavailable("down")
        if self.refuse is not None:
            raise self.refuse
        self.submitted.append((correlation_id, user_id, max_ticks))
        task = new_task(
            user_id=user_id,
            mandate=mandate,
            max_ticks=max_ticks,
            source=TaskSource.KUBERNETES,
            correlation_id=uuid.UUID(correlation_id),
        )
        self.tasks[correlation_id] = task
        return task


class FakeKube:
    def __init__(self, replicas: int = 1, pods: Sequence[str] = ()) -> None:
        self.status: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.replicas = replicas
        self.pods = list(pods)
        self.calls: list[str] = []
        self.annotations: dict[str, str] = {}

    async def patch_status(self, kind: Kind, ns: str, name: str, status: Mapping[str, Any]) -> bool:
        self.status.setdefault(name, {}).update(status)
        return True

    async def delete_custom(self, kind: Kind, ns: str, name: str, uid: str) -> None:
        self.deleted.append(name)

    async def read_scale(self, ns: str, name: str) -> Scale:
        return Scale(replicas=self.replicas, observed=self.replicas, selector="app=agents")

    async def patch_scale(self, ns: str, name: str, replicas: int) -> None:
        self.calls.append(f"scale:{replicas}")
        self.replicas = replicas

    async def list_pods(self, ns: str, selector: str) -> list[PodInfo]:
        return [PodInfo(name=p, annotations={}, terminating=False) for p in self.pods]

    async def annotate_pod(self, ns: str, name: str, annotations: Mapping[str, str]) -> None:
        self.calls.append(f"annotate:{name}")
        self.annotations[name] = next(iter(annotations.values()))


def body(name: str, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "ns",
            "name": name,
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "creationTimestamp": "2027-01-15T08:00:00Z",
        },
        "spec": {"mandate": "m", **spec},
        "status": status or {},
    }


def task(cid: str, status: TaskStatus) -> Task:
    base = new_task(
        user_id=uuid.uuid4(),
        mandate="m",
        max_ticks=3,
        source=TaskSource.KUBERNETES,
        correlation_id=uuid.UUID(cid),
    )
    return base.evolve(status=status, ticks=1, result="r" if status.is_terminal else None)


def synchronizer(
    registry: TaskRegistry,
    gateway: FakeGateway,
    kube: FakeKube,
    events: list[tuple[str, str]],
    now: float = NOW,
) -> TaskSynchronizer:
    return TaskSynchronizer(
        registry=registry,
        gateway=gateway,
        kube=kube,
        post_event=lambda ref, *, type, reason, message: events.append(
            (ref["metadata"]["name"], reason)
        ),
        metrics=Metrics(),
        clock=lambda: now,
    )


async def test_all_live_tasks_are_mirrored_with_one_batched_read_per_pass() -> None:
    registry, gateway, kube = TaskRegistry(), FakeGateway(), FakeKube()
    events: list[tuple[str, str]] = []
    for i in range(250):
        cid = str(uuid.uuid4())
        registry.observe(None, body(f"t{i}", {"phase": "Submitted", "correlationId": cid}))
        gateway.tasks[cid] = task(cid, TaskStatus.COMPLETED if i % 2 else TaskStatus.IN_PROGRESS)
    registry.observe(None, body("done", {"phase": "Completed", "correlationId": "x"}))
    await synchronizer(registry, gateway, kube, events).run_once()
    assert [len(ids) for ids in gateway.reads] == [250]
    assert kube.status["t1"]["phase"] == "Completed"
    assert kube.status["t0"]["phase"] == "Running"
    assert ("t1", "TaskCompleted") in events and ("t0", "Started") in events
    gateway.reads.clear()
    events.clear()
    await synchronizer(registry, gateway, kube, events, now=NOW + 2).run_once()
    assert [len(ids) for ids in gateway.reads] == [125]  # finished ones are no longer read
    assert events == []
    # unchanged tasks back off: read again after 4 s, not after 2 s
    gateway.reads.clear()
    await synchronizer(registry, gateway, kube, events, now=NOW + 4).run_once()
    assert gateway.reads == []
    await synchronizer(registry, gateway, kube, events, now=NOW + 6).run_once()
    assert [len(ids) for ids in gateway.reads] == [125]


async def test_deadline_cancels_and_fails_and_ttl_deletes() -> None:
    registry, gateway, kube = TaskRegistry(), FakeGateway(), FakeKube()
    events: list[tuple[str, str]] = []
    late = body("late", {"phase": "Running", "correlationId": "c-late"}, activeDeadlineSeconds=60)
    old = body(
        "old",
        {"phase": "Completed", "completionTime": "2027-01-15T08:00:30Z"},
        ttlSecondsAfterFinished=10,
    )
    young = body(
        "young",
        {"phase": "Completed", "completionTime": "2027-01-15T08:00:59Z"},
        ttlSecondsAfterFinished=10,
    )
    for item in (late, old, young):
        registry.observe(None, item)
    now = parse_time("2027-01-15T08:01:01Z")
    await synchronizer(registry, gateway, kube, events, now=now).run_once()
    assert gateway.cancelled == ["c-late"]
    assert kube.status["late"]["phase"] == "Failed"
    assert kube.status["late"]["reason"] == "DeadlineExceeded"
    assert ("late", "DeadlineExceeded") in events
    assert kube.deleted == ["old"]


async def test_gateway_outage_backs_off() -> None:
    registry, gateway, kube = TaskRegistry(), FakeGateway(), FakeKube()
    registry.observe(None, body("t", {"phase": "Submitted", "correlationId": "c"}))
    gateway.down = True
    with pytest.raises(GatewayUnavailable):
        await synchronizer(registry, gateway, kube, []).run_once()
    backoff = Backoff(2, 60)
    assert [backoff.failed() for _ in range(6)] == [4, 8, 16, 32, 60, 60]
    assert backoff.succeeded() == 2


class FakeQueues:
    source = "management"

    def __init__(self, depth: QueueDepth) -> None:
        self.value = depth

    async def depth(self, vhost: str, queue: str) -> QueueDepth:
        return self.value

    async def aclose(self) -> None:
        return None


def heartbeats(**pods: WorkerState) -> InMemoryWorkers:
    workers = InMemoryWorkers()
    for pod, state in pods.items():
        workers.records[pod] = WorkerStatus(
            worker_id=f"{pod}-1", pod=pod, state=state, last_heartbeat=utcnow()
        )
    return workers


async def test_deletion_costs_are_set_before_the_scale_down() -> None:
    kube = FakeKube(replicas=4, pods=["a", "b", "c", "d"])
    queues = FakeQueues(QueueDepth(ready=0, unacked=0, consumers=4))
    clock = iter([0.0, 100.0])
    busy, idle = WorkerState.BUSY, WorkerState.IDLE
    scaler = PoolAutoscaler(
        kube=kube,
        queues=queues,
        workers=heartbeats(a=busy, b=idle, c=busy),
        metrics=Metrics(),
        clock=lambda: next(clock),
    )
    spec = PoolSpec.from_spec(
        defaulted_spec(
            "agentpools",
            {
                "scaleTargetRef": {"name": "agents"},
                "minReplicas": 1,
                "maxReplicas": 4,
                "scaleDownStabilizationSeconds": 30,
            },
        )
    )
    state = PoolState(window=StabilizationWindow(0))
    first = await scaler.reconcile("ns", "pool", spec, state, 1)
    assert kube.replicas == 4 and first.status["desiredReplicas"] == 4  # window seeded with 4
    second = await scaler.reconcile("ns", "pool", spec, state, 1)
    assert kube.replicas == 1 and second.status["desiredReplicas"] == 1
    assert kube.calls[-1] == "scale:1"
    assert all(call.startswith("annotate:") for call in kube.calls[:-1])
    assert kube.annotations == {"a": "1000", "b": "-1000", "c": "1000", "d": "0"}
    scaled = Transition(
        EventType.NORMAL, Reason.SCALED_DOWN, "scaled deployment agents from 4 to 1"
    )
    assert scaled in second.events


async def test_without_heartbeats_deletion_costs_are_left_as_they_are() -> None:
    kube = FakeKube(replicas=2, pods=["a", "b"])
    workers = InMemoryWorkers()
    workers.down = True
    scaler = PoolAutoscaler(
        kube=kube, queues=FakeQueues(QueueDepth(0, 0, 2)), workers=workers, metrics=Metrics()
    )
    assert await scaler.mark_deletion_costs("ns", "app=agents") == {}
    assert kube.annotations == {}


async def test_a_submission_uses_the_crd_defaults_and_the_object_uid() -> None:
    gateway, uid, owner = FakeGateway(), str(uuid.uuid4()), uuid.uuid4()
    outcome = await submit_task(
        gateway,
        uid=uid,
        spec=defaulted_spec("agenttasks", {"mandate": "m"}),
        generation=1,
        default_user_id=owner,
        current_status={},
    )
    assert gateway.submitted == [(uid, owner, 10)]  # maxTicks: the CRD's default
    assert not outcome.rejected and outcome.status["correlationId"] == uid
    assert outcome.status["phase"] == Phase.SUBMITTED


@pytest.mark.parametrize(
    ("refusal", "owner", "reason"),
    [
        (QuotaRejected(429, "quota_exceeded", "used up"), uuid.uuid4(), Reason.QUOTA_EXCEEDED),
        (
            GatewayRejected(403, "unknown_user", "no such user"),
            uuid.uuid4(),
            Reason.SUBMISSION_FAILED,
        ),
        (None, None, Reason.SUBMISSION_FAILED),  # no spec.userId and no DEFAULT_USER_ID
    ],
)
async def test_a_refused_submission_fails_the_agenttask_for_good(
    refusal: Exception | None, owner: uuid.UUID | None, reason: Reason
) -> None:
    gateway = FakeGateway()
    gateway.refuse = refusal
    outcome = await submit_task(
        gateway,
        uid=str(uuid.uuid4()),
        spec=defaulted_spec("agenttasks", {"mandate": "m"}),
        generation=1,
        default_user_id=owner,
        current_status={},
    )
    assert outcome.rejected
    assert (outcome.status["phase"], outcome.status["reason"]) == (Phase.FAILED, reason)


async def test_cancelling_a_deleted_task_says_what_came_of_it() -> None:
    gateway = FakeGateway()
    gateway.finished.add("done")
    assert await cancel_on_delete(gateway, "running", 1) is CancelOutcome.CANCELLED
    assert await cancel_on_delete(gateway, "done", 1) is CancelOutcome.FINISHED
    gateway.down = True
    assert await cancel_on_delete(gateway, "any", 0.01) is CancelOutcome.UNREACHABLE
