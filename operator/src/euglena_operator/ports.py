"""Ports of the operator: what its use-cases need from the gateway, Kubernetes and RabbitMQ.
(The workers' heartbeats come through the core ``WorkerDirectory`` port.) Adapters
(``gateway_client``, ``kube``, ``queues``) implement them; only ``wiring`` picks the concrete
ones, and tests may pass in-memory ones."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from euglena.task import Task
from euglena_operator.scaling import QueueDepth
from euglena_operator.vocabulary import EventType, Kind, Reason


@dataclass(frozen=True, slots=True)
class Scale:
    replicas: int
    observed: int
    selector: str


@dataclass(frozen=True, slots=True)
class PodInfo:
    name: str
    annotations: Mapping[str, str]
    terminating: bool


class TaskGateway(Protocol):
    async def submit(
        self, *, correlation_id: str, user_id: uuid.UUID, mandate: str, max_ticks: int
    ) -> Task: ...

    async def get_many(self, ids: Sequence[str]) -> dict[str, Task]: ...

    async def cancel(self, correlation_id: str) -> bool: ...


class ClusterApi(Protocol):
    async def read_scale(self, namespace: str, name: str) -> Scale: ...

    async def patch_scale(self, namespace: str, name: str, replicas: int) -> None: ...

    async def list_pods(self, namespace: str, selector: str) -> list[PodInfo]: ...

    async def annotate_pod(
        self, namespace: str, name: str, annotations: Mapping[str, str]
    ) -> None: ...

    async def patch_status(
        self, kind: Kind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> bool: ...

    async def delete_custom(self, kind: Kind, namespace: str, name: str, uid: str) -> None: ...


class QueueReader(Protocol):
    source: str

    async def depth(self, vhost: str, queue: str) -> QueueDepth: ...

    async def aclose(self) -> None: ...


class EventSink(Protocol):
    """Posts a Kubernetes Event about an object (kopf.event at the composition root)."""

    def __call__(
        self, ref: Mapping[str, Any], *, type: EventType, reason: Reason, message: str
    ) -> None: ...
