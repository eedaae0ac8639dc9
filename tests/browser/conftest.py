"""Browser tier: Debian's Chromium drives the built web UI, served by a real gateway, against
real Redis, RabbitMQ and PostgreSQL and real agent processes (``python -m euglena_agent``).

The scenarios live in ``frontend/e2e/driver.mjs`` (playwright-core, a Node package); each test
runs one in a subprocess, then checks what the browser saw against the gateway's API.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    CHROMIUM,
    DIST,
    FRONTEND,
    Agents,
    Browser,
    install_chromium,
)

from euglena_devkit.fakes import FakeModelServer, tool
from euglena_devkit.local_gateway import RunningGateway, running_gateway


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        why = install_chromium()
        if why:
            pytest.skip(f"{CHROMIUM} is absent and could not be installed ({why})")
    return CHROMIUM


@pytest.fixture(scope="session")
def built_ui() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is not installed; the browser tests need Node.js >= 20.19", False)
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST} is missing: run `make build-frontend` first", False)
    if not (FRONTEND / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is not installed: run `make install-frontend`", False)
    return DIST


@pytest.fixture
async def ui_gateway(
    built_ui: Path, redis_url: str, rabbitmq_vhost: str, postgres_server: Any, clean_db: None
) -> AsyncIterator[RunningGateway]:
    """A real gateway (EUGLENA_ENV=dev, so the local sign-in is on) serving the built UI."""
    async with running_gateway(
        redis_url=redis_url,
        rabbitmq_url=rabbitmq_vhost,
        database_url=postgres_server.dsn,
        frontend_dir=built_ui,
    ) as gateway:
        page = await gateway.client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200 and '<div id="root">' in page.text, page.text[:500]
        yield gateway


@pytest.fixture
async def agents(ui_gateway: RunningGateway, tmp_path: Path) -> AsyncIterator[Agents]:
    pool = Agents(ui_gateway, tmp_path)
    try:
        yield pool
    finally:
        await pool.stop()


@pytest.fixture
def slow_model() -> Iterator[FakeModelServer]:
    """A model that thinks for a while every tick, so a task stays in progress long enough."""
    with FakeModelServer(default=tool("think", thought="still thinking", delay=1.0)) as server:
        yield server


@pytest.fixture
def browser(chromium: Path, ui_gateway: RunningGateway) -> Browser:
    return Browser(chromium, ui_gateway.url)
