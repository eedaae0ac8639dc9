"""Composition root: settings → adapters → use-cases → the FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from euglena import __version__
from euglena.adapters.redis_client import connect_redis
from euglena.adapters.redis_status import RedisStatusStore
from euglena.adapters.redis_workers import RedisWorkers
from euglena.settings import Environment
from euglena_gateway.adapters.postgres import PostgresTaskStore
from euglena_gateway.adapters.rabbitmq import RabbitPublisher
from euglena_gateway.adapters.redis_events import RedisTaskEvents
from euglena_gateway.auth import TokenVerifier
from euglena_gateway.devtokens import user_id_for
from euglena_gateway.http import openapi, problems, system, tasks
from euglena_gateway.http.middleware import EdgeMiddleware
from euglena_gateway.http.static import mount_frontend
from euglena_gateway.metrics import GatewayMetrics
from euglena_gateway.services import EnsureUser, Services
from euglena_gateway.settings import GatewaySettings
from euglena_gateway.usecases.ports import ClosableTaskStore
from euglena_gateway.usecases.reconcile import QueueReconciler
from euglena_gateway.usecases.settle import Settler
from euglena_gateway.usecases.storage import FinishedTasks, StorageManager
from euglena_gateway.usecases.tasks import TaskService

log = logging.getLogger(__name__)


async def _task_store(settings: GatewaySettings, stack: AsyncExitStack) -> ClosableTaskStore:
    dsn = settings.database_url.get_secret_value()
    if not dsn:
        from euglena_gateway.adapters.supabase_rest import SupabaseTaskStore

        rest = SupabaseTaskStore.from_settings(settings)
        stack.push_async_callback(rest.close)
        log.info("task store: Supabase REST API at %s", settings.supabase_url)
        return rest
    store = await PostgresTaskStore.connect(
        dsn, size=settings.database_pool_size, timeout=settings.dependency_timeout_seconds
    )
    stack.push_async_callback(store.close)
    return store


def _dev_user_factory(settings: GatewaySettings, store: object) -> EnsureUser | None:
    if settings.environment is not Environment.DEV or not isinstance(store, PostgresTaskStore):
        return None

    async def ensure_user(name: str) -> str:
        user_id = user_id_for(name)
        email = name if "@" in name else f"{name}@euglena.local"
        await store.ensure_user(user_id, email)
        return str(user_id)

    return ensure_user


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def build_services(
    settings: GatewaySettings, metrics: GatewayMetrics, stack: AsyncExitStack
) -> Services:
    timeout = settings.dependency_timeout_seconds
    redis = connect_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
    stack.push_async_callback(redis.aclose)
    live = RedisStatusStore(redis)
    store = await _task_store(settings, stack)
    publisher = RabbitPublisher(
        settings.amqp_url(),
        delivery_limit=settings.delivery_limit,
        timeout=timeout,
    )
    await publisher.start()
    stack.push_async_callback(publisher.close)
    finished = FinishedTasks(
        size=settings.finished_task_cache_size,
        ttl=settings.finished_task_cache_seconds,
        on_hit=metrics.finished_task_cache_hits.inc,
    )
    storage = StorageManager(store, live, metrics.observe_sync, finished)
    reconciler = QueueReconciler(
        storage,
        publisher,
        grace=settings.requeue_after_seconds,
        give_up=settings.queue_give_up_seconds,
        interval=settings.reconcile_interval_seconds or 3600.0,
    )
    # Runs even with reconciling turned off: it also writes the submissions' confirmations.
    reconciling = asyncio.create_task(reconciler.run(), name="queue-reconciler")
    stack.push_async_callback(_cancel, reconciling)
    if settings.settle_interval_seconds > 0:
        settler = Settler(
            storage,
            interval=settings.settle_interval_seconds,
            grace=settings.settle_after_seconds,
        )
        settling = asyncio.create_task(settler.run(), name="settler")
        stack.push_async_callback(_cancel, settling)
    verifier = TokenVerifier(
        secret=settings.supabase_jwt_secret.get_secret_value(),
        jwks_url=settings.supabase_jwks_url
        or (
            f"{settings.supabase_url.rstrip('/')}/auth/v1/.well-known/jwks.json"
            if settings.supabase_url
            else ""
        ),
    )
    return Services(
        settings=settings,
        verifier=verifier,
        tasks=TaskService(storage, publisher, RedisTaskEvents(redis)),
        workers=RedisWorkers(redis, set_key=settings.worker_status_set_key),
        checks={"redis": live, "postgres": store, "rabbitmq": publisher},
        metrics=metrics,
        ensure_user=_dev_user_factory(settings, store),
    )


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.services = await build_services(settings, metrics, stack)
            yield

    app = FastAPI(
        title="Euglena gateway",
        version=__version__,
        summary="Submit mandates to Euglena agents and follow them to a result.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would otherwise
        # look up the global OTel providers (and the environment) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    problems.install(app)
    openapi.install(app, settings)
    # The routes join the app's own table: an included router is matched twice per request.
    for router in (tasks.router, system.router):
        app.router.routes.extend(router.routes)
    mount_frontend(app, settings.frontend_dir)
    app.add_middleware(
        EdgeMiddleware,
        metrics=metrics,
        max_body=settings.max_body_bytes,
        timeout=settings.request_timeout_seconds,
    )
    return app
