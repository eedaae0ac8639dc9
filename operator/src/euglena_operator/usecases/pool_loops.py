"""One asyncio loop per AgentPool, started and stopped from watch events.

Unlike a kopf daemon this needs no finalizer on the AgentPool, so deleting a pool never waits
for the operator (kopf#1088); a loop simply ends when its pool's DELETED event arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from euglena_operator.errors import severity_of
from euglena_operator.metrics import Metrics
from euglena_operator.ports import ClusterApi, EventSink
from euglena_operator.scaling import StabilizationWindow
from euglena_operator.usecases.pools import PoolAutoscaler, PoolSpec, PoolState
from euglena_operator.vocabulary import API_VERSION, Handler, Kind

log = logging.getLogger(__name__)
Key = tuple[str, str]


class PoolSupervisor:
    def __init__(
        self,
        *,
        autoscaler: PoolAutoscaler,
        kube: ClusterApi,
        post_event: EventSink,
        metrics: Metrics,
    ) -> None:
        self._autoscaler = autoscaler
        self._kube = kube
        self._event = post_event
        self._metrics = metrics
        self._bodies: dict[Key, Mapping[str, Any]] = {}
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._wakeups: dict[Key, asyncio.Event] = {}

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata", {})
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if event_type == "DELETED" or meta.get("deletionTimestamp"):
            self._stop(key)
            return
        previous = self._bodies.get(key)
        self._bodies[key] = body
        if key not in self._tasks:
            self._wakeups[key] = asyncio.Event()
            self._tasks[key] = asyncio.create_task(self._loop(key), name=f"agentpool {key}")
        elif previous and previous.get("spec") != body.get("spec"):
            self._wakeups[key].set()

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        for key in list(self._tasks):
            self._stop(key)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _stop(self, key: Key) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
        self._bodies.pop(key, None)
        self._wakeups.pop(key, None)
        self._metrics.forget_pool(*key)

    async def _loop(self, key: Key) -> None:
        state = PoolState(window=StabilizationWindow(0))
        while key in self._bodies:
            body = self._bodies[key]
            spec = PoolSpec.from_spec(body.get("spec", {}))
            await self._pass(key, body, spec, state)
            wakeup = self._wakeups.get(key)
            if wakeup is None:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=spec.polling_interval)
            wakeup.clear()

    async def _pass(
        self, key: Key, body: Mapping[str, Any], spec: PoolSpec, state: PoolState
    ) -> None:
        namespace, name = key
        started = time.perf_counter()
        generation = body.get("metadata", {}).get("generation")
        try:
            result = await self._autoscaler.reconcile(namespace, name, spec, state, generation)
            await self._kube.patch_status(Kind.AGENT_POOL, namespace, name, result.status)
        except Exception as exc:  # one pass failing never ends the pool's loop
            self._metrics.errors.labels(handler=Handler.AGENTPOOL).inc()
            severity_of(exc).log(log, "agentpool %s/%s: %s", namespace, name, exc, exc=exc)
            return
        finally:
            self._metrics.reconcile_duration.labels(handler=Handler.AGENTPOOL).observe(
                time.perf_counter() - started
            )
        ref = _ref(body)
        for event in result.events:
            self._event(ref, type=event.type, reason=event.reason, message=event.message)


def _ref(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body.get("metadata", {})
    return {
        "apiVersion": API_VERSION,
        "kind": Kind.AGENT_POOL.value,
        "metadata": {k: meta.get(k) for k in ("namespace", "name", "uid")},
    }
