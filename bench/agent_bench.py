"""Agent benchmarks (a command, not a test): ``uv run python bench/agent_bench.py``.

P2 = p50 of submit → ``accepted`` ÷ p50 of a bare publish → consume, on the same RabbitMQ.
     "Submit" is the gateway's work on the hot path (SET the pending task in Redis, publish
     with confirms); "accepted" is the moment the agent's compare-and-set lands in Redis,
     observed through Redis keyspace notifications. Target ≤ 2.
P3 = framework overhead per tick against a zero-latency model server (in another process):
     (task wall time − time inside chat-completions requests) ÷ ticks. It covers the Redis
     status write and cancellation read, ChromaDB memory store + recall, prompt building and
     parsing. Target ≤ 5 ms.

Real Redis and RabbitMQ are started on free loopback ports and stopped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
import uuid
from typing import Any

import aio_pika
from redis.asyncio import Redis

from euglena.adapters.redis_status import RedisStatusStore
from euglena.keys import task_key
from euglena.messages import MANDATES_QUEUE, TaskMessage, mandates_queue_arguments
from euglena.status import TaskStatus
from euglena.task import new_task
from euglena_agent.settings import AgentSettings
from euglena_agent.worker import build_worker
from euglena_devkit.fakes import FakeModelServer, tool
from euglena_devkit.services import RabbitMQServer, RedisServer


def _serve_model(port_queue: Any, ticks: int) -> None:
    server = FakeModelServer()
    steps = [tool("think", thought=f"step {i}") for i in range(ticks - 1)]
    server.script("P3 bench", [*steps, tool("exit", answer="done")])
    server.default = tool("exit", answer="ok")
    server.start()
    port_queue.put(server.port)
    while True:
        time.sleep(3600)


async def bare_publish_consume(amqp_url: str, n: int) -> list[float]:
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(
            "bench.bare", durable=True, arguments={"x-queue-type": "quorum"}
        )
        received: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.put_nowait(time.perf_counter())
            await message.ack()

        await queue.consume(on_message)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            await channel.default_exchange.publish(
                aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="bench.bare",
            )
            samples.append(await received.get() - start)
        return samples


async def submit_to_accepted(amqp_url: str, redis_url: str, n: int) -> list[float]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.config_set("notify-keyspace-events", "K$")
    store = RedisStatusStore(redis)
    connection = await aio_pika.connect_robust(amqp_url)
    samples = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(
            MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments()
        )
        for _ in range(n):
            task = new_task(user_id=uuid.uuid4(), mandate="P2 bench", max_ticks=1)
            key = task_key(task.correlation_id)
            pubsub = redis.pubsub()
            await pubsub.subscribe(f"__keyspace@0__:{key}")
            start = time.perf_counter()
            await store.put(task)
            await channel.default_exchange.publish(
                aio_pika.Message(
                    TaskMessage.from_task(task).to_body(),
                    message_id=str(task.correlation_id),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=MANDATES_QUEUE,
            )
            accepted = None
            while True:
                event = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                if event is None:
                    continue
                stored = await store.get(task.correlation_id)
                assert stored is not None
                if accepted is None and stored.status.rank >= TaskStatus.ACCEPTED.rank:
                    accepted = time.perf_counter() - start
                if stored.is_terminal:
                    break
            await pubsub.aclose()
            samples.append(accepted or 0.0)
    await redis.aclose()
    return samples


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
        settings = AgentSettings(
            redis_url=redis_server.url,
            rabbitmq_url=rabbit.amqp_url,
            model_api_url=f"http://127.0.0.1:{model_port}/v1",
            chroma_path=f"{tmp}/chroma",
            health_port=0,
            health_host="127.0.0.1",
            worker_id="bench-agent",
        )
        async with build_worker(settings) as worker:
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop))
            while not worker.consumer.consuming:
                await asyncio.sleep(0.05)
            bare = await bare_publish_consume(rabbit.amqp_url, args.n)
            accepted = await submit_to_accepted(rabbit.amqp_url, redis_server.url, args.n)
            overhead, per_tick = await tick_overhead(worker, rabbit.amqp_url, args.ticks)
            stop.set()
            await running
    model.terminate()
    p50_bare, p50_acc = statistics.median(bare), statistics.median(accepted)
    print(f"bare publish→consume   p50 {p50_bare * 1e3:7.2f} ms  (n={args.n})")
    print(f"submit→accepted        p50 {p50_acc * 1e3:7.2f} ms  (n={args.n})")
    print(f"P2 = {p50_acc / p50_bare:.2f}  (target ≤ 2)")
    print(f"tick wall time             {per_tick * 1e3:7.2f} ms  ({args.ticks} ticks)")
    print(f"P3 = {overhead * 1e3:.2f} ms framework overhead per tick  (target ≤ 5 ms)")


async def tick_overhead(worker: Any, amqp_url: str, ticks: int) -> tuple[float, float]:
    registry = worker.metrics.registry
    llm_before = registry.get_sample_value("euglena_agent_llm_request_duration_seconds_sum") or 0
    redis = Redis.from_url(worker.settings.redis_url, decode_responses=True)
    store = RedisStatusStore(redis)
    task = new_task(user_id=uuid.uuid4(), mandate="P3 bench", max_ticks=ticks)
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await store.put(task)
        await channel.default_exchange.publish(
            aio_pika.Message(
                TaskMessage.from_task(task).to_body(), message_id=str(task.correlation_id)
            ),
            routing_key=MANDATES_QUEUE,
        )
        while True:
            stored = await store.get(task.correlation_id)
            if stored is not None and stored.is_terminal:
                break
            await asyncio.sleep(0.01)
    await redis.aclose()
    assert stored.status is TaskStatus.COMPLETED and stored.ticks == ticks, stored
    assert stored.started_at is not None and stored.completed_at is not None
    wall = (stored.completed_at - stored.started_at).total_seconds()
    llm = (
        registry.get_sample_value("euglena_agent_llm_request_duration_seconds_sum") or 0
    ) - llm_before
    return (wall - llm) / ticks, wall / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="samples for P2")
    parser.add_argument("--ticks", type=int, default=100, help="ticks of the P3 task")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
