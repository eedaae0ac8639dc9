"""The fault suite's fast versions: the platform on the session's servers, real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from euglena_devkit.faults.platform import FaultPlatform, Services
from euglena_devkit.services import PostgresServer, RabbitMQServer, RedisServer


@pytest.fixture
async def platform(
    redis_server: RedisServer,
    rabbitmq_server: RabbitMQServer,
    postgres_server: PostgresServer,
    redis_url: str,
    rabbitmq_vhost: str,
    clean_db: None,
    tmp_path: Path,
) -> AsyncIterator[FaultPlatform]:
    services = Services(
        redis_server,
        rabbitmq_server,
        postgres_server,
        redis_url,
        rabbitmq_vhost,
        postgres_server.dsn,
    )
    running = FaultPlatform(services, tmp_path, think_seconds=0.3)
    try:
        yield running
    finally:
        await running.close()
        for server in (redis_server, rabbitmq_server, postgres_server):
            if not server.running:
                server.start()
