"""Agent integration fixtures: real Redis/RabbitMQ/ChromaDB and fake model/search/web servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agent_harness import AgentHarness

from euglena_devkit.fakes import FakeModelServer, FakeSearchServer, FakeWebServer


@pytest.fixture
def llm() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def search() -> Iterator[FakeSearchServer]:
    with FakeSearchServer(api_key="test-search-key") as server:
        yield server


@pytest.fixture
def web() -> Iterator[FakeWebServer]:
    with FakeWebServer() as server:
        yield server


@pytest.fixture
async def agents(
    redis_url: str,
    rabbitmq_vhost: str,
    llm: FakeModelServer,
    search: FakeSearchServer,
    tmp_path: Path,
) -> AsyncIterator[AgentHarness]:
    harness = AgentHarness(
        redis_url=redis_url, amqp_url=rabbitmq_vhost, llm=llm, search=search, tmp_path=tmp_path
    )
    try:
        yield harness
    finally:
        await harness.close()
