"""Composition root: settings → adapters → use-cases → consumer, and the worker's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from euglena.adapters.redis_client import connect_redis
from euglena.adapters.redis_status import RedisStatusStore
from euglena.adapters.redis_workers import RedisWorkers
from euglena_agent.consumer import MandateConsumer
from euglena_agent.embeddings import Embedder, HashingEmbedder, OpenAIEmbedder
from euglena_agent.health import HealthServer
from euglena_agent.loop import AgentLoop, LoopConfig
from euglena_agent.mandates import MandateService
from euglena_agent.memory import Memory, MemoryConfig
from euglena_agent.memory_store import ChromaStore
from euglena_agent.memory_writer import MemoryWriter
from euglena_agent.metrics import AgentMetrics
from euglena_agent.model.offline import OfflineModel
from euglena_agent.model.openai import ModelOptions, OpenAIChatModel
from euglena_agent.ports import ChatModel
from euglena_agent.presence import WorkerPresence
from euglena_agent.settings import AgentSettings
from euglena_agent.status import StatusManager
from euglena_agent.tools.search import BraveSearch
from euglena_agent.tools.toolbox import Toolbox
from euglena_agent.tools.visit import PageVisitor

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
"""Longest wait for a TCP/TLS connection to the model, search or a visited site; the request
itself has its own, longer limit (MODEL_TIMEOUT_SECONDS, VISIT_TIMEOUT_SECONDS)."""


@dataclass(frozen=True, slots=True)
class Worker:
    settings: AgentSettings
    metrics: AgentMetrics
    status: StatusManager
    presence: WorkerPresence
    consumer: MandateConsumer
    health: HealthServer
    memory: Memory

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then drain within the grace period."""
        await self.health.start()
        # The presence loop beats at once; a Redis not reachable yet (a fresh install, a
        # network policy still being applied to a new pod) is retried there, never fatal.
        background = [
            asyncio.create_task(self.presence.run(), name="presence"),
            asyncio.create_task(self.status.run_flusher(), name="status-flusher"),
            asyncio.create_task(self._open_memory(), name="memory-open"),
        ]
        try:
            if await self.consumer.start(stop):
                log.info("worker %s ready", self.presence.worker_id)
                await stop.wait()
            log.info("worker %s shutting down", self.presence.worker_id)
            await self.consumer.drain(self.settings.shutdown_grace_seconds)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.presence.remove()
            await self.memory.writer.close(self.settings.memory_flush_timeout_seconds)
            with contextlib.suppress(Exception):
                await self.memory.store.close()
            await self.consumer.close()
            await self.health.close()

    async def _open_memory(self) -> None:
        """Import chromadb and open the collection now, not in the first task's path."""
        try:
            await self.memory.store.open()
        except Exception:
            log.exception("ChromaDB is not available yet; memory will retry on first use")

    def check(self) -> dict[str, object]:
        connected = self.consumer.connected
        return {
            "status": "ok" if self.consumer.consuming else "unavailable",
            "rabbitmq": "connected" if connected else "disconnected",
            "state": self.presence.state,
            "in_flight": self.consumer.in_flight,
            "pending_status_updates": self.status.pending,
            "memory": "open" if self.memory.store.is_open else "opening",
        }


def build_model(
    settings: AgentSettings, http: httpx.AsyncClient, metrics: AgentMetrics
) -> ChatModel:
    if settings.offline:
        log.warning(
            "using the offline stand-in model (no LLM: canned answers from what it observes)"
        )
        return OfflineModel()
    options = ModelOptions(
        tool_calling=settings.model_tool_calling,
        tool_choice_required=settings.model_tool_choice == "required",
        json_mode=settings.model_json_mode,
        temperature=settings.model_temperature,
        top_p=settings.model_top_p,
        max_tokens=settings.model_max_tokens,
        seed=settings.model_seed,
        extra_body=settings.model_extra_body,
    )
    return OpenAIChatModel(
        http,
        base_url=settings.model_api_url,
        model=settings.model_name,
        api_key=settings.model_api_key.get_secret_value(),
        options=options,
        metrics=metrics,
    )


def build_embedder(settings: AgentSettings, http: httpx.AsyncClient) -> Embedder:
    if not settings.embedding_api_url:
        return HashingEmbedder()
    return OpenAIEmbedder(
        http,
        base_url=settings.embedding_api_url,
        model=settings.embedding_model,
        api_key=settings.embedding_api_key.get_secret_value(),
    )


@contextlib.asynccontextmanager
async def build_worker(settings: AgentSettings) -> AsyncIterator[Worker]:
    metrics = AgentMetrics.create()
    # A Redis call never takes longer than one heartbeat: a hung presence write cannot outlive
    # the worker's record, and a hung status write is buffered like a refused one.
    redis = connect_redis(
        settings.redis_url,
        timeout=min(settings.redis_timeout_seconds, settings.heartbeat_seconds),
        decode_responses=True,
    )
    model_http = httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.model_timeout_seconds,
            connect=min(settings.model_timeout_seconds, CONNECT_TIMEOUT_SECONDS),
        )
    )
    tool_http = httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.visit_timeout_seconds,
            connect=min(settings.visit_timeout_seconds, CONNECT_TIMEOUT_SECONDS),
        ),
        headers={"User-Agent": "EuglenaAgent/0.1 (+https://euglena.dev)"},
    )
    try:
        status = StatusManager(
            RedisStatusStore(redis),
            attempts=settings.status_retry_attempts,
            buffer_size=settings.status_buffer_size,
            breaker_reset_seconds=settings.status_breaker_reset_seconds,
            wait_seconds=settings.status_wait_seconds,
        )
        presence = WorkerPresence(
            RedisWorkers(redis, set_key=settings.worker_status_set_key),
            worker_id=settings.worker_id,
            pod=settings.pod_name,
            heartbeat_seconds=settings.heartbeat_seconds,
        )
        store = ChromaStore(
            url=settings.chroma_url,
            path=settings.chroma_path,
            collection=settings.chroma_collection,
        )
        memory = Memory(
            store,
            MemoryWriter(store),
            build_embedder(settings, model_http),
            MemoryConfig(
                recall_k=settings.memory_recall_k,
                flush_timeout=settings.memory_flush_timeout_seconds,
            ),
        )
        search = (
            BraveSearch(
                tool_http,
                url=settings.search_api_url,
                api_key=settings.search_api_key.get_secret_value(),
            )
            if settings.search_api_url
            else None
        )
        visitor = PageVisitor(
            tool_http,
            max_bytes=settings.visit_max_bytes,
            timeout_seconds=settings.visit_timeout_seconds,
            allow_private=settings.visit_allow_private,
        )
        loop = AgentLoop(
            build_model(settings, model_http, metrics),
            Toolbox(search=search, visitor=visitor),
            memory,
            metrics,
            LoopConfig(
                max_observation_chars=settings.observation_max_chars,
                model_attempts=settings.model_attempts,
                conversation_turns=settings.conversation_turns,
                prompt_token_budget=settings.prompt_token_budget,
                retry_after_max_seconds=settings.model_retry_after_max_seconds,
            ),
        )
        service = MandateService(
            status=status,
            loop=loop,
            presence=presence,
            metrics=metrics,
            worker_id=settings.worker_id,
            task_timeout=settings.task_timeout_seconds,
        )
        consumer = MandateConsumer(
            url=settings.amqp_url(),
            connect_timeout=settings.rabbitmq_heartbeat_seconds,
            service=service,
            metrics=metrics,
            concurrency=settings.worker_concurrency,
            delivery_limit=settings.delivery_limit,
            requeue_delay=settings.requeue_delay_seconds,
        )
        holder: list[Worker] = []
        health = HealthServer(
            host=settings.health_host,
            port=settings.health_port,
            registry=metrics.registry,
            check=lambda: holder[0].check(),
        )
        worker = Worker(settings, metrics, status, presence, consumer, health, memory)
        holder.append(worker)
        yield worker
    finally:
        await model_http.aclose()
        await tool_http.aclose()
        await redis.aclose()
