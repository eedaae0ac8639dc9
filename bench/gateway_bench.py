"""Gateway benchmarks P1 and P6, measured against the raw work in the same run.

P1 = gateway ``POST /tasks`` throughput at 32 concurrent clients
     ÷ the same Redis SET EX + Postgres INSERT + confirmed publish issued directly.
P6 = ``GET /tasks/{id}`` of a finished task ÷ a bare Postgres primary-key select, as deployed
     (finished tasks are served from the gateway's memory after the first read) and with that
     cache off (every GET runs the row-level-security query in Postgres).

The HTTP load comes from ``wrk`` (Debian package; one thread, 32 connections) so the load
generator costs as little CPU as possible on a 2-core machine; the direct baselines run as
32 asyncio coroutines in this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aio_pika
import asyncpg
import httpx
from redis.asyncio import Redis

from euglena.messages import MANDATES_QUEUE, mandates_queue_arguments
from euglena.settings import DEV_JWT_SECRET
from euglena.task import new_task
from euglena_devkit.services import LocalServices, free_port
from euglena_gateway.devtokens import mint_user_token

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 32
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))


async def _closed_loop(op: Callable[[int], Awaitable[None]], seconds: float) -> float:
    """Run ``op`` from CONCURRENCY coroutines for ``seconds``; return operations per second."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(worker: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            await op(worker * 1_000_000 + i)
            i += 1
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


async def raw_submissions(env: dict[str, str], user: uuid.UUID) -> float:
    redis = Redis.from_url(env["REDIS_URL"])
    pool = await asyncpg.create_pool(
        env["DATABASE_URL"], min_size=CONCURRENCY, max_size=CONCURRENCY
    )
    connection = await aio_pika.connect_robust(env["RABBITMQ_URL"])
    channel = await connection.channel(publisher_confirms=True)
    await channel.declare_queue(MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments())

    async def submit(_: int) -> None:
        task = new_task(user_id=user, mandate="benchmark mandate", max_ticks=1)
        cid = task.correlation_id
        body = json.dumps(
            {
                "correlation_id": str(cid),
                "user_id": str(user),
                "mandate": task.mandate,
                "max_ticks": 1,
            }
        ).encode()
        await redis.set(f"task:{cid}", task.to_json(), ex=600)
        await pool.execute(
            "insert into public.tasks (correlation_id, user_id, mandate, max_ticks) "
            "values ($1, $2, 'benchmark mandate', 1)",
            cid,
            user,
        )
        await channel.default_exchange.publish(
            aio_pika.Message(
                body, message_id=str(cid), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            ),
            routing_key=MANDATES_QUEUE,
            mandatory=True,
        )

    try:
        await _closed_loop(submit, 1.0)
        return await _closed_loop(submit, SECONDS)
    finally:
        await connection.close()
        await pool.close()
        await redis.aclose()


async def bare_selects(dsn: str, cid: uuid.UUID) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)

    async def select(_: int) -> None:
        await pool.fetchrow("select * from public.tasks where correlation_id = $1", cid)

    try:
        await _closed_loop(select, 1.0)
        return await _closed_loop(select, SECONDS)
    finally:
        await pool.close()


def wrk(url: str, lua: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    args = ["wrk", "-t1", f"-c{CONCURRENCY}", "-s", script.name]
    subprocess.run([*args, "-d1s", url], check=True, capture_output=True)
    out = subprocess.run(
        [*args, f"-d{SECONDS:g}s", url], check=True, capture_output=True, text=True
    ).stdout
    os.unlink(script.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} requests failed during the benchmark:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


def _lua(method: str, token: str, body: str | None = None) -> str:
    lines = [f'wrk.method = "{method}"', f'wrk.headers["Authorization"] = "Bearer {token}"']
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"', f"wrk.body = '{body}'"]
    return "\n".join(lines) + "\n"


class Gateway:
    def __init__(self, env: dict[str, str], workers: int, **extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "euglena_gateway"],
            env={
                **os.environ,
                **env,
                "GATEWAY_PORT": str(self.port),
                "GATEWAY_WORKERS": str(workers),
                "LOG_LEVEL": "WARNING",
                "DATABASE_POOL_SIZE": str(CONCURRENCY // workers),
                **extra,
            },
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the gateway did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


async def _prepare_user(dsn: str) -> uuid.UUID:
    user = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("insert into auth.users (id, email) values ($1, 'bench@local')", user)
        await conn.execute(
            "update public.profiles set daily_tick_limit = 1000000000 where id = $1", user
        )
    finally:
        await conn.close()
    return user


async def _finished_task(gateway: Gateway, token: str, env: dict[str, str]) -> uuid.UUID:
    from euglena.adapters.redis_status import RedisStatusStore
    from euglena.status import TaskStatus

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers) as client:
        created = await client.post("/tasks", json={"mandate": "finished", "max_ticks": 1})
        cid = uuid.UUID(created.json()["correlation_id"])
        redis = Redis.from_url(env["REDIS_URL"])
        store = RedisStatusStore(redis)
        task = await store.get(cid)
        assert task is not None
        await store.put(task.evolve(status=TaskStatus.COMPLETED, result="done", ticks=1))
        await redis.aclose()
        final = await client.get(f"/tasks/{cid}")
        assert final.json()["status"] == "completed"
    return cid


def run() -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing (Debian: apt-get install wrk)")
    results: dict[str, float] = {}
    with LocalServices(REPO) as services:
        env = {**services.env(), "EUGLENA_ENV": "dev", "SUPABASE_JWT_SECRET": DEV_JWT_SECRET}
        dsn = env["DATABASE_URL"]
        user = asyncio.run(_prepare_user(dsn))
        token = mint_user_token(DEV_JWT_SECRET, user)
        raw = asyncio.run(raw_submissions(env, user))
        for workers in (1, 2):
            gateway = Gateway(env, workers)
            try:
                body = '{"mandate": "benchmark mandate", "max_ticks": 1}'
                http = wrk(f"{gateway.url}/tasks", _lua("POST", token, body))
                cid = asyncio.run(_finished_task(gateway, token, env))
                reads = wrk(f"{gateway.url}/tasks/{cid}", _lua("GET", token))
            finally:
                gateway.stop()
            # The same read with the finished-task cache off: every GET queries Postgres.
            gateway = Gateway(env, workers, FINISHED_TASK_CACHE_SECONDS="0")
            try:
                queried = wrk(f"{gateway.url}/tasks/{cid}", _lua("GET", token))
            finally:
                gateway.stop()
            bare = asyncio.run(bare_selects(dsn, cid))
            results[f"P1 ({workers} worker)"] = http / raw
            results[f"P6 ({workers} worker)"] = reads / bare
            results[f"P6 no cache ({workers} worker)"] = queried / bare
            print(
                f"  gateway workers={workers}: POST /tasks {http:,.0f}/s vs raw work {raw:,.0f}/s; "
                f"GET /tasks/{{id}} {reads:,.0f}/s ({queried:,.0f}/s with the finished-task "
                f"cache off) vs bare select {bare:,.0f}/s"
            )
    return results


def main() -> None:
    print(
        "Gateway (P1, P6): 32 concurrent clients, "
        f"{SECONDS:g} s per measurement, after a 1 s warm-up"
    )
    for name, value in run().items():
        print(f"{name:>25} = {value:.2f}")


if __name__ == "__main__":
    main()
