"""Integration tier: a real gateway in-process against real Redis, RabbitMQ and PostgreSQL."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from euglena_devkit.local_gateway import RunningGateway, running_gateway

GatewayFactory = Callable[..., AbstractAsyncContextManager[RunningGateway]]


@pytest.fixture
def gateway_factory(
    redis_url: str, rabbitmq_vhost: str, postgres_server: Any, clean_db: None
) -> GatewayFactory:
    """Start gateways with settings overrides, e.g. ``async with gateway_factory(max_ticks=3)``
    (``redis_url=``, ``rabbitmq_url=``, ``database_url=`` too, e.g. through a proxy)."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[RunningGateway]:
        urls = {
            "redis_url": redis_url,
            "rabbitmq_url": rabbitmq_vhost,
            "database_url": postgres_server.dsn,
        }
        urls.update({k: overrides.pop(k) for k in list(urls) if k in overrides})
        return running_gateway(**urls, **overrides)

    return factory


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> AsyncIterator[RunningGateway]:
    async with gateway_factory() as running:
        yield running
