"""Agent benchmarks (a command, not a test): ``uv run python bench/agent_bench.py``.

P2 = p50 of submit → ``accepted`` ÷ p50 of a bare publish → consume, on the same RabbitMQ.
     "Submit" is the gateway's work on the hot path (SET the pending task in Redis, publish
     with confirms); "accepted" is the moment the agent's compare-and-set lands in Redis: the
     Redis keyspace notification of the first write after the pending one. The agent is a
     real ``python -m euglena_agent`` process; the bench client runs in this one. Target ≤ 2.
P3 = framework overhead per tick against a zero-latency model server (in another process):
     (task wall time − time inside chat-completions requests) ÷ ticks, the request time read
     from the worker's ``/metrics``. It covers the status write per tick, memory (in-process
     recall, the ChromaDB recall at task start and the batched ChromaDB writes flushed before
     the terminal status), prompt building and parsing. Target ≤ 5 ms.

Real Redis and RabbitMQ are started on free loopback ports and stopped afterwards. Both ratios
come from one run, P2's two kinds of samples interleaved so that both see the same machine
load; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.keys import task_key
from euglena.messages import MANDATES_QUEUE, TaskMessage, mandates_queue_arguments
from euglena.status import TaskStatus
from euglena.task import Task, new_task
from euglena_devkit.fakes import FakeModelServer, tool
from euglena_devkit.services import RabbitMQServer, RedisServer, free_port

LLM_SUM = "euglena_agent_llm_request_duration_seconds_sum"


def _serve_model(port_queue: Any, ticks: int) -> None:
    server = FakeModelServer()
    steps = [tool("think", thought=f"step {i}") for i in range(ticks - 1)]
    server.script("P3 bench", [*steps, tool("exit", answer="done")])
    server.default = tool("exit", answer="ok")
    server.start()
    port_queue.put(server.port)
    while True:
        time.sleep(3600)


class WorkerProcess:
    """``python -m euglena_agent`` with its log in ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.health_url = f"http://127.0.0.1:{env['HEALTH_PORT']}"
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "euglena_agent"],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self, timeout: float = 120) -> None:
        """Healthy, and done opening its memory (which imports chromadb in the background)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.proc.returncode}")
                try:
                    response = await client.get(self.health_url + "/healthz")
                    memory = response.json().get("memory", "open")
                    if response.status_code == 200 and memory == "open":
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("worker did not become healthy")

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(self.health_url + "/metrics")).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class BarePath:
    """Publish → consume of an empty persistent message on a quorum queue, in this process."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel) -> None:
        self._channel = channel
        self._received: asyncio.Queue[float] = asyncio.Queue()

    async def start(self) -> None:
        await self._channel.set_qos(prefetch_count=1)
        queue = await self._channel.declare_queue(
            "bench.bare", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.consume(self._on_message)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._received.put_nowait(time.perf_counter())
        await message.ack()

    async def sample(self) -> float:
        start = time.perf_counter()
        await self._channel.default_exchange.publish(
            aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key="bench.bare",
        )
        return await self._received.get() - start


async def _publish(channel: aio_pika.abc.AbstractChannel, task: Task) -> None:
    await channel.default_exchange.publish(
        aio_pika.Message(
            TaskMessage.from_task(task).to_body(),
            message_id=str(task.correlation_id),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=MANDATES_QUEUE,
    )


async def submit_to_accepted(
    channel: aio_pika.abc.AbstractChannel, redis: Redis, store: RedisStatusStore
) -> float:
    """One submission like the gateway's; seconds until the agent's first write lands."""
    task = new_task(user_id=uuid.uuid4(), mandate="P2 bench", max_ticks=1)
    pubsub = redis.pubsub()
    await pubsub.subscribe(f"__keyspace@0__:{task_key(task.correlation_id)}")
    start = time.perf_counter()
    await store.put(task)
    await _publish(channel, task)
    writes: list[float] = []
    stored = None
    while stored is None or not stored.is_terminal:
        event = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        if event is None:
            continue
        writes.append(time.perf_counter())
        if len(writes) >= 2:
            stored = await store.get(task.correlation_id)
    await pubsub.aclose()
    assert stored.status is TaskStatus.COMPLETED, stored
    return writes[1] - start  # writes[0] is the pending SET above


async def p2_samples(amqp_url: str, redis_url: str, n: int) -> tuple[list[float], list[float]]:
    """Bare and submit→accepted samples, interleaved so that both see the same load."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.config_set("notify-keyspace-events", "K$")
    store = RedisStatusStore(redis)
    connection = await aio_pika.connect_robust(amqp_url)
    bare: list[float] = []
    accepted: list[float] = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(
            MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments()
        )
        path = BarePath(await connection.channel(publisher_confirms=True))
        await path.start()
        await submit_to_accepted(channel, redis, store)  # warm-up, not counted
        for _ in range(n):
            bare.append(await path.sample())
            accepted.append(await submit_to_accepted(channel, redis, store))
    await redis.aclose()
    return bare, accepted


async def tick_overhead(worker: WorkerProcess, amqp_url: str, redis_url: str, ticks: int) -> Any:
    llm_before = await worker.metric(LLM_SUM)
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStatusStore(redis)
    task = new_task(user_id=uuid.uuid4(), mandate="P3 bench", max_ticks=ticks)
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await store.put(task)
        await _publish(channel, task)
        while True:
            stored = await store.get(task.correlation_id)
            if stored is not None and stored.is_terminal:
                break
            await asyncio.sleep(0.01)
    await redis.aclose()
    assert stored.status is TaskStatus.COMPLETED and stored.ticks == ticks, stored
    assert stored.started_at is not None and stored.completed_at is not None
    wall = (stored.completed_at - stored.started_at).total_seconds()
    llm = await worker.metric(LLM_SUM) - llm_before
    return (wall - llm) / ticks, wall / ticks


def _worker_env(redis_url: str, amqp_url: str, model_port: int, tmp: str) -> dict[str, str]:
    return {
        "EUGLENA_ENV": "dev",
        "REDIS_URL": redis_url,
        "RABBITMQ_URL": amqp_url,
        "MODEL_API_URL": f"http://127.0.0.1:{model_port}/v1",
        "CHROMA_PATH": f"{tmp}/chroma",
        "HEALTH_PORT": str(free_port()),
        "HEALTH_HOST": "127.0.0.1",
        "WORKER_ID": "bench-agent",
    }


async def run(args: argparse.Namespace) -> None:
    ctx = multiprocessing.get_context("spawn")
    ports: Any = ctx.Queue()
    model = ctx.Process(target=_serve_model, args=(ports, args.ticks), daemon=True)
    model.start()
    model_port = ports.get(timeout=60)
    with (
        RedisServer() as redis_server,
        RabbitMQServer() as rabbit,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = _worker_env(redis_server.url, rabbit.amqp_url, model_port, tmp)
        worker = WorkerProcess(env, Path(tmp) / "agent.log")
        try:
            await worker.ready()
            bare, accepted = await p2_samples(rabbit.amqp_url, redis_server.url, args.n)
            overhead, per_tick = await tick_overhead(
                worker, rabbit.amqp_url, redis_server.url, args.ticks
            )
        finally:
            worker.stop()
    model.terminate()
    p50_bare, p50_acc = statistics.median(bare), statistics.median(accepted)
    print(f"load average           {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"bare publish→consume   p50 {p50_bare * 1e3:7.2f} ms  (n={args.n})")
    print(f"submit→accepted        p50 {p50_acc * 1e3:7.2f} ms  (n={args.n})")
    print(f"P2 = {p50_acc / p50_bare:.2f}  (target ≤ 2)")
    print(f"tick wall time             {per_tick * 1e3:7.2f} ms  ({args.ticks} ticks)")
    print(f"P3 = {overhead * 1e3:.2f} ms framework overhead per tick  (target ≤ 5 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="samples for P2")
    parser.add_argument("--ticks", type=int, default=100, help="ticks of the P3 task")
    asyncio.run(run(parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])))


if __name__ == "__main__":
    main()
