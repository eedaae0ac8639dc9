"""Kopf handlers: parse, call one use-case, map the result. Registered on import of this module.

Who does what (see docs/operator.md): kopf calls ``submit`` once per new AgentTask and
``cancel`` when a running one is deleted; everything that follows a task over time (status,
deadlines, TTL) is the batched sync loop in ``wiring.run_sync_loop``, which the first AgentTask
watch event starts. AgentPools are driven from their watch events by ``PoolSupervisor``.
Errors reach kopf only through :func:`to_kopf`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import kopf

from euglena_operator.errors import RETRYABLE, OperatorError
from euglena_operator.registry import parse_time
from euglena_operator.settings import OperatorSettings
from euglena_operator.usecases.tasks import cancel_on_delete, submit_task
from euglena_operator.vocabulary import (
    ANNOTATION_PREFIX,
    COMPONENT,
    FINALIZER,
    GROUP,
    VERSION,
    CancelOutcome,
    EventType,
    Handler,
    Kind,
    Reason,
    is_terminal_phase,
)
from euglena_operator.wiring import Services, build_services, run_sync_loop

TASKS, POOLS = Kind.AGENT_TASK.plural, Kind.AGENT_POOL.plural


def to_kopf(exc: OperatorError, retry: int) -> kopf.TemporaryError | kopf.PermanentError:
    """The kopf edge: what may go away by itself is retried with a doubling delay (up to a
    minute); anything else would fail the same way again, so kopf stops retrying it. kopf logs
    either (and posts a Warning Event) itself."""
    if isinstance(exc, RETRYABLE):
        return kopf.TemporaryError(str(exc), delay=min(2**retry, 60))
    return kopf.PermanentError(str(exc))


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config: OperatorSettings = memo.settings
    configure_kopf(settings, config)
    services = build_services(config)
    services.metrics.serve(config.metrics_port)
    memo.services = services


def configure_kopf(settings: kopf.OperatorSettings, config: OperatorSettings) -> None:
    settings.peering.standalone = True
    settings.scanning.disabled = True
    # Our own Events are posted explicitly (kopf.event); kopf's INFO log lines ("Handler …
    # succeeded", "Creation is processed") would each add an Event write per object.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = COMPONENT
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.watching.server_timeout = config.watch_server_timeout_seconds
    settings.watching.client_timeout = config.watch_client_timeout_seconds
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    services: Services | None = getattr(memo, "services", None)
    if services is not None:
        await services.aclose()


@kopf.on.event(GROUP, VERSION, TASKS)
async def track_task(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    services: Services = memo.services
    services.registry.observe(type, body)
    if not services.background:
        # Started from a resource handler, not at startup: only here does the task inherit
        # kopf's context for posting Events.
        services.background.append(asyncio.create_task(run_sync_loop(services), name="sync"))


@kopf.on.event(GROUP, VERSION, POOLS)
async def track_pool(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.services.pools.observe(type, body)


@kopf.on.create(GROUP, VERSION, TASKS, backoff=2)
async def submit(
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: kopf.Memo,
    retry: int,
    **_: Any,
) -> None:
    services: Services = memo.services
    if is_terminal_phase(status.get("phase")) or status.get("correlationId"):
        return
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and _age(meta) >= deadline:
        return  # the sync loop fails it with DeadlineExceeded
    try:
        outcome = await submit_task(
            services.gateway,
            uid=str(meta["uid"]),
            spec=spec,
            generation=meta.get("generation"),
            default_user_id=services.settings.default_user_id,
            current_status=status,
        )
    except OperatorError as exc:
        services.metrics.errors.labels(handler=Handler.AGENTTASK_SUBMIT).inc()
        raise to_kopf(exc, retry) from exc
    patch.status.update(outcome.status)
    if outcome.rejected:
        kopf.warn(body, reason=outcome.status["reason"], message=outcome.message)
    else:
        kopf.event(body, type=EventType.NORMAL, reason=Reason.SUBMITTED, message=outcome.message)


def _needs_cancel(status: kopf.Status, **_: Any) -> bool:
    return not is_terminal_phase(status.get("phase"))


@kopf.on.delete(GROUP, VERSION, TASKS, when=_needs_cancel)
async def cancel(
    body: kopf.Body, meta: kopf.Meta, status: kopf.Status, memo: kopf.Memo, **_: Any
) -> None:
    services: Services = memo.services
    correlation_id = str(status.get("correlationId") or meta["uid"])
    outcome = await cancel_on_delete(
        services.gateway, correlation_id, services.settings.cancel_timeout_seconds
    )
    if outcome is CancelOutcome.UNREACHABLE:
        kopf.warn(
            body,
            reason=Reason.CANCEL_FAILED,
            message=f"could not cancel task {correlation_id}; deleted anyway",
        )
    elif outcome is CancelOutcome.CANCELLED:
        message = f"cancelled task {correlation_id}"
        kopf.event(body, type=EventType.NORMAL, reason=Reason.CANCELLED, message=message)


def _age(meta: kopf.Meta) -> float:
    return time.time() - parse_time(meta.get("creationTimestamp"))
