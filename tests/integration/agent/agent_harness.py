"""Agent test harness: workers in-process or as real ``python -m euglena_agent`` subprocesses,
a gateway-like publisher, and status reads from Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from euglena.adapters.redis_status import RedisStatusStore
from euglena.messages import MANDATES_QUEUE, TaskMessage, mandates_queue_arguments
from euglena.task import Task, new_task
from euglena_agent.settings import AgentSettings
from euglena_agent.worker import Worker, build_worker
from euglena_devkit.fakes import FakeModelServer, FakeSearchServer, FakeWebServer, Hit
from euglena_devkit.fakes.web import article
from euglena_devkit.services import free_port
from euglena_devkit.waiting import until

DELIVERY_LIMIT = 3
ZUBROWKA_CAPITAL = "The capital of Zubrowka is Lutz, famous for Mendl's pastry shop."


def zubrowka_pages(search: FakeSearchServer, web: FakeWebServer) -> str:
    """A page that answers "What is the capital of Zubrowka?", found by searching for it."""
    url = web.page(
        "/wiki/zubrowka",
        article("Republic of Zubrowka", "Zubrowka is a small alpine republic.", ZUBROWKA_CAPITAL),
    )
    for word in ("zubrowka", "capital"):
        search.results(word, [Hit("Zubrowka — Encyclopaedia", url, "An alpine republic.")])
    return url


class InProcessWorker:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.stop_event = asyncio.Event()
        self._cm: AbstractAsyncContextManager[Worker] = build_worker(settings)
        self._task: asyncio.Task[None] | None = None
        self.worker: Worker | None = None

    @property
    def id(self) -> str:
        return self.settings.worker_id

    async def start(self) -> InProcessWorker:
        self.worker = await self._cm.__aenter__()
        self._task = asyncio.create_task(self.worker.run(self.stop_event))
        consumer = self.worker.consumer
        await until(self._alive, holds=lambda ok: ok and consumer.consuming, timeout=30)
        return self

    async def _alive(self) -> bool:
        assert self._task is not None
        if self._task.done():
            self._task.result()
        return True

    def metric(self, name: str, **labels: str) -> float:
        assert self.worker is not None
        value = self.worker.metrics.registry.get_sample_value(name, labels)
        return value or 0.0

    async def stop(self) -> None:
        if self._task is None:
            return
        self.stop_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=60)
        finally:
            self._task = None
            await self._cm.__aexit__(None, None, None)


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.id = env["WORKER_ID"]
        self.health_url = f"http://127.0.0.1:{env['HEALTH_PORT']}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "euglena_agent"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self) -> WorkerProcess:
        async def probe() -> int:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}: {self.log()}")
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.health_url + "/healthz")).status_code
            except httpx.HTTPError:
                return 0

        await until(probe, holds=lambda code: code == 200, timeout=60, interval=0.1)
        return self

    async def health(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(self.health_url + "/healthz")
        doc: dict[str, Any] = response.json()
        return doc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    async def exited(self, timeout: float = 60) -> int:
        await until(lambda: self.proc.poll() is not None, timeout, f"worker {self.id} to exit")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


class AgentHarness:
    """Publishes mandates like the gateway does and reads task status from Redis."""

    def __init__(
        self,
        *,
        redis_url: str,
        amqp_url: str,
        llm: FakeModelServer,
        search: FakeSearchServer,
        tmp_path: Path,
    ) -> None:
        self.redis_url = redis_url
        self.amqp_url = amqp_url
        self.llm = llm
        self.search = search
        self.tmp_path = tmp_path
        # retried: after a Redis restart the first command on a pooled connection fails
        self.redis: Redis = Redis.from_url(
            redis_url,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 5),
            retry_on_error=[RedisConnectionError],
        )
        self.store = RedisStatusStore(self.redis)
        self.user_id = uuid.uuid4()
        self._workers: list[InProcessWorker] = []
        self._processes: list[WorkerProcess] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    def env(self, **overrides: Any) -> dict[str, str]:
        worker_id = f"agent-{uuid.uuid4().hex[:8]}"
        values: dict[str, Any] = {
            "EUGLENA_ENV": "dev",
            "REDIS_URL": self.redis_url,
            "RABBITMQ_URL": self.amqp_url,
            "DELIVERY_LIMIT": DELIVERY_LIMIT,
            "MODEL_API_URL": self.llm.url,
            "MODEL_NAME": "fake-model",
            "SEARCH_API_URL": self.search.url,
            "SEARCH_API_KEY": self.search.api_key,
            "CHROMA_PATH": str(self.tmp_path / f"chroma-{worker_id}"),
            "VISIT_ALLOW_PRIVATE": "true",
            "HEARTBEAT_SECONDS": "0.5",
            "REQUEUE_DELAY_SECONDS": "0.05",
            "SHUTDOWN_GRACE_SECONDS": "10",
            "HEALTH_PORT": free_port(),
            "HEALTH_HOST": "127.0.0.1",
            "WORKER_ID": worker_id,
            "POD_NAME": f"pod-{worker_id}",
        }
        values.update({k.upper(): v for k, v in overrides.items()})
        return {k: str(v) for k, v in values.items()}

    async def start_worker(self, **overrides: Any) -> InProcessWorker:
        env = self.env(health_port=0, **overrides)
        settings = AgentSettings(**{k.lower(): v for k, v in env.items()})
        worker = InProcessWorker(settings)
        self._workers.append(worker)
        return await worker.start()

    async def spawn_worker(self, **overrides: Any) -> WorkerProcess:
        [process] = await self.spawn_workers(1, **overrides)
        return process

    async def spawn_workers(self, count: int, **overrides: Any) -> list[WorkerProcess]:
        """Start ``count`` worker processes at once and wait until all of them are healthy."""
        started = [self.launch_worker(**overrides) for _ in range(count)]
        return list(await asyncio.gather(*(p.ready() for p in started)))

    def launch_worker(self, **overrides: Any) -> WorkerProcess:
        """Start a worker process without waiting for it to become healthy."""
        env = {**os.environ, **self.env(**overrides)}
        env.pop("PYTEST_CURRENT_TEST", None)
        process = WorkerProcess(env, self.tmp_path / f"{env['WORKER_ID']}.log")
        self._processes.append(process)
        return process

    def task(self, mandate: str, *, max_ticks: int = 5, user_id: uuid.UUID | None = None) -> Task:
        return new_task(user_id=user_id or self.user_id, mandate=mandate, max_ticks=max_ticks)

    async def submit(self, task: Task, *, write_pending: bool = True) -> Task:
        """What the gateway does: write the pending task to Redis, then publish it."""
        if write_pending:
            await self.store.put(task)
        await self.publish_body(TaskMessage.from_task(task).to_body(), str(task.correlation_id))
        return task

    async def publish_body(self, body: bytes, message_id: str) -> None:
        if self._connection is None:
            self._connection = await aio_pika.connect_robust(self.amqp_url)
        async with self._connection.channel(publisher_confirms=True) as channel:
            await channel.declare_queue(
                MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments(DELIVERY_LIMIT)
            )
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=message_id,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=MANDATES_QUEUE,
            )

    async def reset_publisher(self) -> None:
        """Forget the publishing connection (e.g. after RabbitMQ restarted under it)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def get(self, task: Task) -> Task | None:
        return await self.store.get(task.correlation_id)

    async def wait(
        self, task: Task, condition: Callable[[Task], bool], *, timeout: float = 30.0
    ) -> Task:
        stored = await until(
            lambda: self.get(task),
            timeout,
            f"task {task.correlation_id} to reach the expected state",
            holds=lambda t: t is not None and condition(t),
        )
        assert stored is not None
        return stored

    async def finished(self, task: Task, *, timeout: float = 30.0) -> Task:
        return await self.wait(task, lambda t: t.is_terminal, timeout=timeout)

    async def close(self) -> None:
        for worker in self._workers:
            await worker.stop()
        for process in self._processes:
            process.close()
        if self._connection is not None:
            await self._connection.close()
        await self.redis.aclose()
