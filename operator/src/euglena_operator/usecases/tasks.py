"""AgentTask use-cases: submit, mirror status in batches, deadlines, TTL, cancel on delete."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from euglena_operator.errors import GatewayRejected, GatewayUnavailable, QuotaRejected
from euglena_operator.metrics import Metrics
from euglena_operator.mirroring import failed_status, mirror_task, submitted_status
from euglena_operator.ports import ClusterApi, EventSink, TaskGateway
from euglena_operator.registry import TaskEntry, TaskRegistry, parse_time
from euglena_operator.vocabulary import CancelOutcome, EventType, Kind, Reason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submission:
    """The status to write after a submission attempt, and whether it failed for good."""

    status: dict[str, Any]
    rejected: bool
    message: str


async def submit_task(
    gateway: TaskGateway,
    *,
    uid: str,
    spec: Mapping[str, Any],
    generation: int | None,
    default_user_id: uuid.UUID | None,
    current_status: Mapping[str, Any],
) -> Submission:
    """Submit once per object: the correlation id *is* the object's UID, so a retry after a
    crash gets the existing task back (HTTP 200) instead of a second one.

    ``spec`` is as the API server hands it out, its defaults (``maxTicks``) filled in from the
    CRD. Raises GatewayUnavailable (retry later); a refusal becomes a ``Failed`` status.
    """
    owner = spec.get("userId") or default_user_id
    if owner is None:
        message = "spec.userId is not set and the operator has no DEFAULT_USER_ID"
        return _rejected(current_status, Reason.SUBMISSION_FAILED, message, generation)
    try:
        task = await gateway.submit(
            correlation_id=uid,
            user_id=uuid.UUID(str(owner)),
            mandate=str(spec["mandate"]),
            max_ticks=int(spec["maxTicks"]),
        )
    except QuotaRejected as exc:
        return _rejected(current_status, Reason.QUOTA_EXCEEDED, exc.message, generation)
    except GatewayRejected as exc:
        return _rejected(current_status, Reason.SUBMISSION_FAILED, exc.message, generation)
    status = submitted_status(task, generation)
    return Submission(status=status, rejected=False, message=f"submitted as task {uid}")


def _rejected(
    current: Mapping[str, Any], reason: Reason, message: str, generation: int | None
) -> Submission:
    status = failed_status(current, reason=reason, message=message, generation=generation)
    return Submission(status=status, rejected=True, message=message)


async def cancel_on_delete(
    gateway: TaskGateway, correlation_id: str, budget: float
) -> CancelOutcome:
    """Cancel a deleted task's gateway task, giving up after ``budget`` seconds.

    Never raises for an unreachable gateway, so a deletion is never blocked forever.
    """
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(budget),
            wait=wait_exponential(multiplier=0.5, max=5),
            retry=retry_if_exception_type(GatewayUnavailable),
            reraise=True,
        ):
            with attempt:
                cancelled = await gateway.cancel(correlation_id)
    except GatewayUnavailable as exc:
        log.warning("could not cancel task %s, deleting anyway: %s", correlation_id, exc)
        return CancelOutcome.UNREACHABLE
    except GatewayRejected as exc:
        log.warning("gateway refused to cancel task %s: %s", correlation_id, exc)
        return CancelOutcome.UNREACHABLE
    return CancelOutcome.CANCELLED if cancelled else CancelOutcome.FINISHED


class TaskSynchronizer:
    """One pass mirrors every live AgentTask: a batched read, deadlines, then TTL deletions.

    A task that did not change is read again only after a doubling pause (up to
    ``max_read_interval``), so thousands of queued tasks do not cost thousands of reads per
    pass; any change brings it back to every pass.
    """

    def __init__(
        self,
        *,
        registry: TaskRegistry,
        gateway: TaskGateway,
        kube: ClusterApi,
        post_event: EventSink,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        read_interval: float = 2.0,
        max_read_interval: float = 16.0,
    ) -> None:
        self._read_interval = read_interval
        self._max_read_interval = max(max_read_interval, read_interval)
        self._registry = registry
        self._gateway = gateway
        self._kube = kube
        self._event = post_event
        self._metrics = metrics
        self._clock = clock

    async def run_once(self) -> None:
        """Raises GatewayUnavailable (after doing the parts that need no gateway)."""
        now = self._clock()
        await self._collect_garbage(now)
        live = [e for e in self._registry if not e.terminal and not e.deleting]
        await self._enforce_deadlines([e for e in live if _expired(e, now)])
        due = [e for e in live if e.correlation_id and e.next_read <= now]
        await self._mirror([e for e in due if not _expired(e, now)], now)
        for phase, count in self._registry.phases().items():
            self._metrics.agenttasks.labels(phase=phase).set(count)

    async def _mirror(self, entries: list[TaskEntry], now: float) -> None:
        if not entries:
            return
        tasks = await self._gateway.get_many([e.correlation_id or "" for e in entries])
        for entry in entries:
            task = tasks.get(entry.correlation_id or "")
            if task is None:
                log.debug("task %s of %s/%s not found", entry.correlation_id, *entry.key)
                self._schedule(entry, now, changed=False)
                continue
            result = mirror_task(entry.status, task, entry.generation)
            self._schedule(entry, now, changed=result.patch is not None)
            if result.patch:
                await self._write(entry, result.patch)
            for transition in result.events:
                self._event(
                    entry.ref(),
                    type=transition.type,
                    reason=transition.reason,
                    message=transition.message,
                )

    def _schedule(self, entry: TaskEntry, now: float, *, changed: bool) -> None:
        if changed:
            entry.read_interval = self._read_interval
        else:
            doubled = max(entry.read_interval * 2, self._read_interval)
            entry.read_interval = min(doubled, self._max_read_interval)
        entry.next_read = now + entry.read_interval - 0.01

    async def _enforce_deadlines(self, entries: list[TaskEntry]) -> None:
        for entry in entries:
            if entry.correlation_id:
                await self._gateway.cancel(entry.correlation_id)
            message = f"exceeded activeDeadlineSeconds={entry.deadline_seconds}; task cancelled"
            reason = Reason.DEADLINE_EXCEEDED
            patch = failed_status(
                entry.status, reason=reason, message=message, generation=entry.generation
            )
            await self._write(entry, patch)
            self._event(entry.ref(), type=EventType.WARNING, reason=reason, message=message)

    async def _collect_garbage(self, now: float) -> None:
        for entry in self._registry:
            if entry.ttl_seconds is None or not entry.terminal or entry.deleting:
                continue
            finished = _finished_at(entry)
            if finished and now >= finished + entry.ttl_seconds:
                log.info("deleting %s/%s: ttlSecondsAfterFinished passed", *entry.key)
                await self._kube.delete_custom(
                    Kind.AGENT_TASK, entry.namespace, entry.name, entry.uid
                )
                entry.deleting = True

    async def _write(self, entry: TaskEntry, patch: Mapping[str, Any]) -> None:
        if await self._kube.patch_status(Kind.AGENT_TASK, entry.namespace, entry.name, patch):
            self._registry.update_status(entry.key, patch)


def _expired(entry: TaskEntry, now: float) -> bool:
    return entry.deadline_seconds is not None and now >= entry.created + entry.deadline_seconds


def _finished_at(entry: TaskEntry) -> float | None:
    value = entry.status.get("completionTime")
    return parse_time(value) if value else None


class Backoff:
    """Sleep between passes: the interval while healthy, doubling up to ``ceiling`` on errors."""

    def __init__(self, interval: float, ceiling: float) -> None:
        self.interval = interval
        self.ceiling = max(ceiling, interval)
        self._delay = interval

    def succeeded(self) -> float:
        self._delay = self.interval
        return self._delay

    def failed(self) -> float:
        self._delay = min(self._delay * 2, self.ceiling)
        return self._delay
