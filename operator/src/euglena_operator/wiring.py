"""Composition root: settings → adapters → use-cases, built once at startup, closed at cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import kopf
from redis.asyncio import Redis

from euglena.adapters.redis_client import connect_redis
from euglena.adapters.redis_workers import RedisWorkers
from euglena_operator.errors import severity_of
from euglena_operator.gateway_client import GatewayClient
from euglena_operator.kube import KubeClient, load_api_client
from euglena_operator.metrics import Metrics
from euglena_operator.ports import QueueReader
from euglena_operator.queues import build_queue_reader
from euglena_operator.registry import TaskRegistry
from euglena_operator.settings import OperatorSettings
from euglena_operator.usecases.pool_loops import PoolSupervisor
from euglena_operator.usecases.pools import PoolAutoscaler
from euglena_operator.usecases.tasks import Backoff, TaskSynchronizer
from euglena_operator.vocabulary import EventType, Handler, Reason

log = logging.getLogger(__name__)


def post_event(ref: Mapping[str, Any], *, type: EventType, reason: Reason, message: str) -> None:
    kopf.event(
        kopf.Body(cast(kopf.RawBody, dict(ref))), type=type, reason=reason, message=message[:1024]
    )


@dataclass
class Services:
    settings: OperatorSettings
    metrics: Metrics
    gateway: GatewayClient
    kube: KubeClient
    queues: QueueReader
    redis: Redis
    registry: TaskRegistry
    synchronizer: TaskSynchronizer
    pools: PoolSupervisor
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def aclose(self) -> None:
        for task in self.background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pools.stop_all()
        await self.gateway.aclose()
        await self.queues.aclose()
        await self.redis.aclose()
        self.kube.close()


def build_services(settings: OperatorSettings) -> Services:
    metrics = Metrics()
    gateway = GatewayClient(
        settings.gateway_url,
        settings.supabase_service_role_key.get_secret_value(),
        timeout=settings.gateway_timeout_seconds,
        metrics=metrics,
    )
    kube = KubeClient(load_api_client(), timeout=settings.kubernetes_timeout_seconds)
    queues = build_queue_reader(
        settings.rabbitmq_management_url,
        settings.amqp_url(),
        timeout=settings.queue_timeout_seconds,
    )
    redis = connect_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
    workers = RedisWorkers(redis, set_key=settings.worker_status_set_key)
    registry = TaskRegistry()
    synchronizer = TaskSynchronizer(
        registry=registry,
        gateway=gateway,
        kube=kube,
        post_event=post_event,
        metrics=metrics,
        read_interval=settings.status_sync_interval_seconds,
        max_read_interval=settings.status_sync_max_interval_seconds,
    )
    autoscaler = PoolAutoscaler(kube=kube, queues=queues, workers=workers, metrics=metrics)
    pools = PoolSupervisor(autoscaler=autoscaler, kube=kube, post_event=post_event, metrics=metrics)
    return Services(settings, metrics, gateway, kube, queues, redis, registry, synchronizer, pools)


async def run_sync_loop(services: Services) -> None:
    """Mirror all AgentTasks, one batched pass per interval, backing off while the gateway fails.

    Started by the first AgentTask watch event (``handlers.track_task``), not at startup: only
    a task created from a kopf handler inherits kopf's context, which ``kopf.event`` needs."""
    settings = services.settings
    backoff = Backoff(
        settings.status_sync_interval_seconds, settings.status_sync_max_backoff_seconds
    )
    histogram = services.metrics.reconcile_duration.labels(handler=Handler.AGENTTASK_SYNC)
    while True:
        try:
            with histogram.time():
                await services.synchronizer.run_once()
            delay = backoff.succeeded()
        except Exception as exc:  # the loop outlives any one pass
            services.metrics.errors.labels(handler=Handler.AGENTTASK_SYNC).inc()
            delay = backoff.failed()
            severity_of(exc).log(
                log, "AgentTask sync failed (%s); next try in %.0fs", exc, delay, exc=exc
            )
        await asyncio.sleep(delay)
