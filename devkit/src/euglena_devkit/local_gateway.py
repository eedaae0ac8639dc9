"""Run a real gateway in-process on a free loopback port (tests, benchmarks, the browser tier)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import uvicorn

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import until
from euglena_gateway.app import create_app
from euglena_gateway.devtokens import mint_user_token
from euglena_gateway.settings import GatewaySettings


@dataclass
class RunningGateway:
    url: str
    settings: GatewaySettings
    client: httpx.AsyncClient
    dsn: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def secret(self) -> str:
        return self.settings.supabase_jwt_secret.get_secret_value()

    def token(self, user_id: uuid.UUID | str) -> str:
        return mint_user_token(self.secret, uuid.UUID(str(user_id)))

    def headers(self, user_id: uuid.UUID | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    def service_token(self) -> str:
        return mint_service_token(self.secret)

    async def create_user(self, *, daily_tick_limit: int = 1000) -> uuid.UUID:
        user_id = uuid.uuid4()
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(
                "insert into auth.users (id, email) values ($1, $2)",
                user_id,
                f"{user_id}@test.euglena.local",
            )
            await conn.execute(
                "update public.profiles set daily_tick_limit = $2 where id = $1",
                user_id,
                daily_tick_limit,
            )
        finally:
            await conn.close()
        return user_id


def gateway_env(*, redis_url: str, rabbitmq_url: str, database_url: str) -> dict[str, str]:
    """Environment that points any Euglena process at the same local services."""
    return {
        "EUGLENA_ENV": "dev",
        "REDIS_URL": redis_url,
        "RABBITMQ_URL": rabbitmq_url,
        "DATABASE_URL": database_url,
        "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
    }


@contextlib.asynccontextmanager
async def running_gateway(
    *, redis_url: str, rabbitmq_url: str, database_url: str, **overrides: Any
) -> AsyncIterator[RunningGateway]:
    env = gateway_env(redis_url=redis_url, rabbitmq_url=rabbitmq_url, database_url=database_url)
    values: dict[str, Any] = {
        "EUGLENA_ENV": "dev",
        "redis_url": redis_url,
        "rabbitmq_url": rabbitmq_url,
        "database_url": database_url,
        "supabase_jwt_secret": DEV_JWT_SECRET,
        "frontend_dir": None,
    }
    values.update(overrides)
    settings = GatewaySettings(**values)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="none",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:

        def started() -> bool:
            if serving.done():
                serving.result()
                raise RuntimeError("the gateway stopped during start-up")
            return bool(server.started)

        await until(started, 60, "the gateway to start", interval=0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield RunningGateway(
                url=url, settings=settings, client=client, dsn=database_url, env=env
            )
    finally:
        server.should_exit = True
        await serving
