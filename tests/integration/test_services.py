"""The devkit's local services behave like the real thing a user would point Euglena at."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

import aio_pika
import asyncpg
import chromadb
import httpx
import pytest
from aiormq.exceptions import AMQPConnectionError
from chromadb.config import Settings
from pamqp.commands import Basic
from redis import Redis

from euglena_devkit.services import (
    ChromaServer,
    PostgresServer,
    PrometheusServer,
    RabbitMQServer,
    ScrapeTarget,
    port_accepts,
)
from euglena_devkit.waiting import eventually


def _vhost_of(amqp_url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(amqp_url).path[1:])


async def _queue_info(server: RabbitMQServer, vhost: str, queue: str) -> dict[str, object]:
    path = f"/api/queues/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(queue, safe='')}"
    async with httpx.AsyncClient(
        base_url=server.management_api, auth=(server.username, server.password)
    ) as api:
        response = await api.get(path)
    response.raise_for_status()
    info: dict[str, object] = response.json()
    return info


async def _until_ready_count(
    server: RabbitMQServer, vhost: str, queue: str, expected: int
) -> dict[str, object]:
    """Management statistics lag the broker by an emission interval; poll until they agree."""
    info: dict[str, object] = {}
    for _ in range(200):
        info = await _queue_info(server, vhost, queue)
        if info.get("messages_ready") == expected:
            return info
        await asyncio.sleep(0.1)
    raise AssertionError(f"messages_ready never became {expected}: {info}")


def test_redis_set_and_get_over_the_url(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        assert client.set("devkit:check", "hello")
        assert client.get("devkit:check") == b"hello"
    finally:
        client.close()


async def test_rabbitmq_quorum_queue_round_trip_visible_in_management_api(
    rabbitmq_server: RabbitMQServer, rabbitmq_vhost: str
) -> None:
    vhost = _vhost_of(rabbitmq_vhost)
    connection = await aio_pika.connect(rabbitmq_vhost)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            "devkit.check", durable=True, arguments={"x-queue-type": "quorum"}
        )
        confirmation = await channel.default_exchange.publish(
            aio_pika.Message(
                b'{"hello": "world"}',
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id="m-1",
            ),
            routing_key=queue.name,
        )
        assert isinstance(confirmation, Basic.Ack)

        info = await _until_ready_count(rabbitmq_server, vhost, queue.name, 1)
        assert info["type"] == "quorum"
        assert info["durable"] is True

        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    assert message.body == b'{"hello": "world"}'
                    assert message.message_id == "m-1"
                break

        await _until_ready_count(rabbitmq_server, vhost, queue.name, 0)


async def test_rabbitmq_outage_and_recovery_on_the_same_port(
    rabbitmq_server: RabbitMQServer, rabbitmq_vhost: str
) -> None:
    connection = await aio_pika.connect(rabbitmq_vhost)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(
            "devkit.durable", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await channel.default_exchange.publish(
            aio_pika.Message(b"survives", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=queue.name,
        )
    port = rabbitmq_server.port

    await asyncio.to_thread(rabbitmq_server.stop)
    try:
        with pytest.raises((AMQPConnectionError, ConnectionError)):
            await aio_pika.connect(rabbitmq_vhost, timeout=5)
    finally:
        await asyncio.to_thread(rabbitmq_server.start)

    assert rabbitmq_server.port == port
    connection = await aio_pika.connect(rabbitmq_vhost)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            "devkit.durable", durable=True, arguments={"x-queue-type": "quorum"}
        )
        message = await queue.get(timeout=10)
        assert message is not None
        assert message.body == b"survives"
        await message.ack()


async def test_postgres_answers_and_has_the_supabase_schema(
    postgres_server: PostgresServer, clean_db: None
) -> None:
    connection = await asyncpg.connect(postgres_server.dsn)
    try:
        assert await connection.fetchval("select 1") == 1
        assert await connection.fetchval("select to_regclass('public.tasks') is not null")
        assert await connection.fetchval("select count(*) from public.tasks") == 0
        api_roles = {"anon", "authenticated", "service_role"}
        rows = await connection.fetch(
            "select rolname from pg_roles where rolname = any($1::text[])", list(api_roles)
        )
        assert {r["rolname"] for r in rows} == api_roles
    finally:
        await connection.close()


@pytest.mark.parametrize("run", ["first", "second"])
async def test_clean_db_gives_each_test_an_empty_database(
    postgres_server: PostgresServer, clean_db: None, run: str
) -> None:
    """Both runs insert the same kind of rows; each must start without the other's."""
    ours = "from public.profiles p join auth.users u on u.id = p.id where u.email like 'devkit-%'"
    connection = await asyncpg.connect(postgres_server.dsn)
    try:
        assert await connection.fetchval(f"select count(*) {ours}") == 0
        await connection.execute(
            "insert into auth.users (id, email) values (gen_random_uuid(), $1)",
            f"devkit-{run}@example.test",
        )
        await connection.execute(
            "insert into public.profiles (id) select id from auth.users where email = $1"
            " on conflict (id) do nothing",
            f"devkit-{run}@example.test",
        )
        assert await connection.fetchval(f"select count(*) {ours}") == 1
    finally:
        await connection.close()


def test_cli_up_detached_env_and_down(tmp_path: Path, repo_root: Path) -> None:
    state_dir = tmp_path / "state"
    command = [sys.executable, "-m", "euglena_devkit.services"]
    common = ["--repo-root", str(repo_root), "--state-dir", str(state_dir)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}

    up = subprocess.run(
        [*command, "up", "--detach", *common], capture_output=True, text=True, env=env, timeout=100
    )
    try:
        assert up.returncode == 0, up.stderr
        printed = dict(line.split("=", 1) for line in up.stdout.splitlines())
        assert set(printed) == {
            "REDIS_URL",
            "RABBITMQ_URL",
            "RABBITMQ_MANAGEMENT_URL",
            "DATABASE_URL",
        }
        assert (state_dir / "env").read_text() == up.stdout

        listed = subprocess.run([*command, "env", *common], capture_output=True, text=True)
        assert listed.stdout == up.stdout

        client = Redis.from_url(printed["REDIS_URL"])
        try:
            assert client.ping()
        finally:
            client.close()
        with httpx.Client(timeout=10) as http:
            overview = http.get(printed["RABBITMQ_MANAGEMENT_URL"] + "/api/overview")
        assert overview.status_code == 200
    finally:
        down = subprocess.run([*command, "down", *common], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr
    assert not (state_dir / "env").exists()
    redis_port = urllib.parse.urlsplit(printed["REDIS_URL"]).port
    assert redis_port is not None
    eventually(lambda: not port_accepts(redis_port), 10, "Redis to stop listening")


def test_prometheus_scrapes_a_target_and_answers_queries(tmp_path: Path) -> None:
    with PrometheusServer(base_dir=tmp_path / "prometheus") as prometheus:
        prometheus.targets.append(ScrapeTarget("prometheus", f"127.0.0.1:{prometheus.port}"))
        prometheus.reload()

        def scraped() -> bool:
            return bool(prometheus.query('up{job="prometheus"} == 1'))

        eventually(scraped, 30, "Prometheus to scrape itself", interval=0.2)


def test_chroma_stores_and_finds_an_embedding(chroma_server: ChromaServer) -> None:
    client = chromadb.HttpClient(
        host="127.0.0.1",
        port=chroma_server.port,
        settings=Settings(anonymized_telemetry=False),
    )
    collection = client.create_collection(f"devkit-{os.getpid()}", embedding_function=None)
    vectors: list[Sequence[float]] = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    query: list[Sequence[float]] = [[0.9, 0.1, 0.0]]
    collection.add(
        ids=["near", "far"],
        embeddings=vectors,
        documents=["close to the query", "far from the query"],
    )
    found = collection.query(query_embeddings=query, n_results=1)
    assert found["ids"] == [["near"]]
