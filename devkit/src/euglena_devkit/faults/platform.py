"""FaultPlatform: the real platform on loopback, with a hand on every wire and every process.

Real Redis, RabbitMQ and PostgreSQL, each behind a :class:`TcpProxy` (so it can be blackholed)
and each restartable; the gateway and the agent workers as real processes (``python -m
euglena_gateway`` / ``euglena_agent``) that can be killed, stopped and started again; a fake
OpenAI-compatible model whose replies take ``think_seconds`` each, so tasks are in flight when
faults strike. Tasks are submitted over HTTP like any client's, and their fate is read from
Postgres (what users see) and from the workers' logs (who completed what).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.fakes import FakeModelServer, tool
from euglena_devkit.faults.proxy import TcpProxy
from euglena_devkit.services import PostgresServer, RabbitMQServer, RedisServer, free_port
from euglena_devkit.supervisor import Child, Supervisor
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import until
from euglena_gateway.devtokens import mint_user_token

TERMINAL = ("completed", "failed", "cancelled")
DELIVERY_LIMIT = 10

GATEWAY_SETTINGS = {
    "RECONCILE_INTERVAL_SECONDS": "2",
    "REQUEUE_AFTER_SECONDS": "10",
    "SETTLE_INTERVAL_SECONDS": "2",
    "SETTLE_AFTER_SECONDS": "5",
    "DELIVERY_LIMIT": str(DELIVERY_LIMIT),
}
"""Recovery sooner than the defaults (printed with the figures), so a run takes minutes."""


@dataclass
class Services:
    """The three servers and what to reach each at (a Redis URL, an AMQP URL, a DSN)."""

    redis: RedisServer
    rabbitmq: RabbitMQServer
    postgres: PostgresServer
    redis_url: str
    amqp_url: str
    dsn: str


@dataclass
class Outcome:
    """What became of the tasks a run submitted."""

    accepted: list[str] = field(default_factory=list)
    refused: int = 0  # 503: nothing recorded, the client was told to retry
    rejected: int = 0  # other 4xx (429 past the quota…)
    server_errors: int = 0  # 5xx other than 503
    unanswered: int = 0  # the request itself failed (connection, client timeout)


class FaultPlatform:
    def __init__(self, services: Services, work_dir: Path, *, think_seconds: float = 0.5) -> None:
        self.services = services
        self.work_dir = work_dir
        self.think_seconds = think_seconds
        self.proxies = {
            "redis": TcpProxy(services.redis.port),
            "rabbitmq": TcpProxy(services.rabbitmq.port),
            "postgres": TcpProxy(services.postgres.port),
        }
        self.model = FakeModelServer()
        self.procs = Supervisor(work_dir / "logs")
        self.workers: dict[str, Child] = {}
        self._consuming: set[str] = set()
        self.gateway_port = free_port()
        self.url = f"http://127.0.0.1:{self.gateway_port}"
        self.client = httpx.AsyncClient(base_url=self.url, timeout=30)
        self.service_token = mint_service_token(DEV_JWT_SECRET)
        self.worker_settings: dict[str, str] = {}
        self.probes: list[str] = []  # tasks submitted only to see whether submissions work
        self._spawned = 0
        self._tasks = 0

    # -- lifecycle ------------------------------------------------------------------

    async def start(
        self, *, workers: int, worker_settings: dict[str, str] | None = None, **gateway: str
    ) -> FaultPlatform:
        self.worker_settings = dict(worker_settings or {})
        for proxy in self.proxies.values():
            proxy.start()
        self.model.start()
        self.start_gateway(**gateway)
        await self.gateway_ready()
        await asyncio.gather(*(self.spawn_worker() for _ in range(workers)))
        return self

    async def close(self) -> None:
        await asyncio.to_thread(self.procs.stop_all, 15.0)
        await self.client.aclose()
        self.model.stop()
        for proxy in self.proxies.values():
            proxy.close()

    def _env(self) -> dict[str, str]:
        s = self.services
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            EUGLENA_ENV="dev",
            REDIS_URL=self.proxies["redis"].url(s.redis_url),
            RABBITMQ_URL=self.proxies["rabbitmq"].url(s.amqp_url),
            DATABASE_URL=self.proxies["postgres"].url(s.dsn),
            SUPABASE_JWT_SECRET=DEV_JWT_SECRET,
            DELIVERY_LIMIT=str(DELIVERY_LIMIT),
            LOG_LEVEL="INFO",
        )
        return env

    def start_gateway(self, **settings: str) -> None:
        env = {
            **self._env(),
            **GATEWAY_SETTINGS,
            **settings,
            "GATEWAY_PORT": str(self.gateway_port),
        }
        self.gateway = self.procs.start(
            "gateway", [sys.executable, "-m", "euglena_gateway"], env=env
        )

    async def gateway_ready(self, timeout: float = 60) -> None:
        async def ready() -> bool:
            if self.gateway.process.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self.procs.tail('gateway')}")
            return (await self.client.get("/health")).status_code == 200

        ok: bool = await until(
            ready, timeout, "the gateway", interval=0.2, ignoring=(httpx.HTTPError,)
        )
        assert ok

    async def spawn_worker(self, **settings: str) -> str:
        self._spawned += 1
        name = f"agent-{self._spawned}"
        health = free_port()
        env = {
            **self._env(),
            "WORKER_ID": name,
            "POD_NAME": name,
            "MODEL_API_URL": self.model.url,
            "MODEL_NAME": "fault-model",
            "CHROMA_PATH": str(self.work_dir / "chroma" / name),
            "HEARTBEAT_SECONDS": "1",
            "REQUEUE_DELAY_SECONDS": "0.2",
            "SHUTDOWN_GRACE_SECONDS": "10",
            "STATUS_WAIT_SECONDS": "300",
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(health),
            **self.worker_settings,
            **settings,
        }
        self.workers[name] = self.procs.start(
            name, [sys.executable, "-m", "euglena_agent"], env=env
        )

        async def consuming() -> bool:
            if self.workers[name].process.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.procs.tail(name)}")
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"http://127.0.0.1:{health}/healthz")).status_code == 200

        ok: bool = await until(
            consuming, 90, f"{name} to consume", interval=0.2, ignoring=(httpx.HTTPError,)
        )
        assert ok
        self._consuming.add(name)
        return name

    def live_workers(self) -> list[str]:
        """Workers running and consuming (one still starting is not counted yet)."""
        return [
            n for n, c in self.workers.items() if c.process.poll() is None and n in self._consuming
        ]

    def signal_worker(self, name: str, sig: int) -> None:
        self.workers[name].process.send_signal(sig)

    def pid(self, name: str) -> int:
        child = self.gateway if name == "gateway" else self.workers[name]
        return child.process.pid

    # -- users and tasks ----------------------------------------------------------

    async def create_user(self, *, daily_tick_limit: int = 10_000_000) -> uuid.UUID:
        user = uuid.uuid4()
        conn = await asyncpg.connect(self.services.dsn)
        try:
            await conn.execute(
                "insert into auth.users (id, email) values ($1, $2)", user, f"{user}@faults.local"
            )
            await conn.execute(
                "update public.profiles set daily_tick_limit = $2 where id = $1",
                user,
                daily_tick_limit,
            )
        finally:
            await conn.close()
        return user

    def headers(self, user: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_user_token(DEV_JWT_SECRET, user)}"}

    def mandate(self, ticks: int = 3) -> tuple[str, str]:
        """A new mandate the model answers in ``ticks`` replies, and the answer it ends with."""
        self._tasks += 1
        key = f"[ft-{self._tasks:06d}]"
        answer = f"done {key}"
        steps = [tool("think", thought="working", delay=self.think_seconds)] * (ticks - 1)
        self.model.script(key, [*steps, tool("exit", answer=answer, delay=self.think_seconds)])
        return f"Fault-suite task {key}", answer

    async def submit(self, user: uuid.UUID, outcome: Outcome, *, ticks: int = 3) -> None:
        mandate, _ = self.mandate(ticks)
        body = {"mandate": mandate, "max_ticks": ticks + 2}
        try:
            response = await self.client.post("/tasks", json=body, headers=self.headers(user))
        except httpx.HTTPError:
            outcome.unanswered += 1
            return
        if response.status_code == 202:
            outcome.accepted.append(response.json()["correlation_id"])
        elif response.status_code == 503:
            outcome.refused += 1
        elif response.status_code >= 500:
            outcome.server_errors += 1
        else:
            outcome.rejected += 1

    async def submit_many(
        self, user: uuid.UUID, count: int, *, concurrency: int = 8, ticks: int = 3
    ) -> Outcome:
        outcome = Outcome()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await self.submit(user, outcome, ticks=ticks)

        await asyncio.gather(*(one() for _ in range(count)))
        return outcome

    async def rows(self, cids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Each task's row in Postgres (absent: no row): status, worker_id, result."""
        conn = await asyncpg.connect(self.services.dsn)
        try:
            rows = await conn.fetch(
                "select correlation_id::text, status, worker_id, result from public.tasks "
                "where correlation_id = any($1::uuid[])",
                list(cids),
            )
        finally:
            await conn.close()
        return {r["correlation_id"]: dict(r) for r in rows}

    async def statuses(self, cids: Iterable[str]) -> dict[str, str]:
        """Each task's status in Postgres (absent: no row)."""
        return {cid: row["status"] for cid, row in (await self.rows(cids)).items()}

    async def drain(self, cids: list[str], timeout: float) -> float:
        """Seconds until every task is finished in Postgres (``timeout`` if some never are)."""
        began = asyncio.get_running_loop().time()
        while True:
            statuses = await self.statuses(cids)
            if all(statuses.get(c) in TERMINAL for c in cids):
                return asyncio.get_running_loop().time() - began
            if asyncio.get_running_loop().time() - began > timeout:
                return timeout
            await asyncio.sleep(0.5)

    def completions(self) -> Counter[str]:
        """How many times each task was completed, from every worker's log."""
        found: Counter[str] = Counter()
        pattern = re.compile(r"task ([0-9a-f-]{36}) completed after")
        for log in (self.work_dir / "logs").glob("agent-*.log"):
            found.update(pattern.findall(log.read_text(errors="replace")))
        return found

    async def redis_task_keys(self) -> int:
        from redis.asyncio import Redis

        redis = Redis.from_url(self.services.redis_url)
        try:
            return len([k async for k in redis.scan_iter("task:*")])
        finally:
            await redis.aclose()

    async def open_rows(self) -> int:
        conn = await asyncpg.connect(self.services.dsn)
        try:
            return int(
                await conn.fetchval(
                    "select count(*) from public.tasks where status <> all($1::text[])",
                    list(TERMINAL),
                )
            )
        finally:
            await conn.close()


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def as_dict(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
