"""Root fixtures: real local services, started lazily on first use and shared by the session.

``pytest tests/unit`` starts nothing. A test that asks for ``redis_server``, ``rabbitmq_server``,
``postgres_server``, ``chroma_server`` or ``llama_server`` (the real model server) gets a real
server on loopback (see
``euglena_devkit.services``); if its binary is missing the test fails with the package to
install (``make test`` runs ``hack/install-deps.sh`` first). Per-test helpers give each test
a clean slate cheaply: ``redis_url`` (flushed), ``clean_db`` (public tables and auth.users
truncated, seed re-applied) and ``rabbitmq_vhost`` (a fresh vhost, deleted afterwards).
``redis_proxy``, ``postgres_proxy`` and ``rabbitmq_proxy`` put a
:class:`~euglena_devkit.faults.TcpProxy` in front of a server, so a test can blackhole it
(``proxy.blackhole()``: it stops answering without closing anything) for the clients it points
at ``proxy.url(...)``; nothing else sees it.

Every test under ``tests/unit`` carries the ``unit`` marker and every test under
``tests/integration`` the ``integration`` marker (given here, not file by file, so a new file
cannot be left out of ``make test-unit``).

Under ``CI=true`` a skipped test fails, in every tier: ``make test`` installs every tool the
tiers need (Docker Engine for the kind tier included), so a skip in CI would only hide a tier
that did not run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from euglena_devkit.faults import TcpProxy
from euglena_devkit.services import (
    ChromaServer,
    LlamaServer,
    LocalServer,
    PostgresServer,
    RabbitMQServer,
    RedisServer,
    ServiceError,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = REPO_ROOT / "tests"
_TIER_BY_FOLDER = {
    TESTS_DIR / "unit": pytest.mark.unit,
    TESTS_DIR / "integration": pytest.mark.integration,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for folder, marker in _TIER_BY_FOLDER.items():
            if folder in Path(item.path).parents:
                item.add_marker(marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where make test installs every tool: {reason}"


_TRUNCATE_ALL = """
do $$
declare
  targets text;
begin
  select string_agg(format('%I.%I', schemaname, tablename), ', ')
    into targets
    from pg_tables
   where schemaname = 'public' or (schemaname = 'auth' and tablename = 'users');
  if targets is not null then
    execute 'truncate table ' || targets || ' restart identity cascade';
  end if;
end
$$;
"""

S = TypeVar("S", bound=LocalServer)


def _started(factory: Callable[[], S]) -> S:
    server: S | None = None
    try:
        server = factory()
        return server.start()
    except ServiceError as exc:
        failure = str(exc)
    if server is not None:
        server.close()
    pytest.fail(failure, pytrace=False)


def _serve(factory: Callable[[], S]) -> Iterator[S]:
    server = _started(factory)
    yield server
    server.close()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    yield from _serve(RedisServer)


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitMQServer]:
    yield from _serve(RabbitMQServer)


@pytest.fixture(scope="session")
def postgres_server(repo_root: Path) -> Iterator[PostgresServer]:
    server = _started(PostgresServer)
    try:
        server.prepare_supabase(repo_root)
    except ServiceError as exc:
        failure = str(exc)
    else:
        yield server
        return
    finally:
        server.close()
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    yield from _serve(ChromaServer)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """The real model server (llama-cpp-python + SmolLM2-135M); one request at a time."""
    yield from _serve(LlamaServer)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session Redis, emptied before the test."""
    if not redis_server.running:
        redis_server.start()
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def clean_db(postgres_server: PostgresServer, repo_root: Path) -> None:
    """Empty every table in ``public`` and ``auth.users``, then re-apply ``supabase/seed.sql``."""
    if not postgres_server.running:
        postgres_server.start()
    postgres_server.execute(_TRUNCATE_ALL)
    seed = repo_root / "supabase" / "seed.sql"
    if seed.is_file():
        postgres_server.apply_sql_files([seed])


@pytest.fixture
def rabbitmq_vhost(rabbitmq_server: RabbitMQServer) -> Iterator[str]:
    """AMQP URL of a fresh vhost (full permissions for guest), deleted after the test."""
    if not rabbitmq_server.running:
        rabbitmq_server.start()
    vhost = f"test-{secrets.token_hex(6)}"
    url = rabbitmq_server.create_vhost(vhost)
    yield url
    if rabbitmq_server.running:
        rabbitmq_server.delete_vhost(vhost)


def _proxy(server: LocalServer, port: int) -> Iterator[TcpProxy]:
    if not server.running:
        server.start()
    with TcpProxy(port) as proxy:
        yield proxy


@pytest.fixture
def redis_proxy(redis_server: RedisServer) -> Iterator[TcpProxy]:
    """A proxy in front of the session Redis (``proxy.url(redis_url)``), closed afterwards."""
    yield from _proxy(redis_server, redis_server.port)


@pytest.fixture
def postgres_proxy(postgres_server: PostgresServer) -> Iterator[TcpProxy]:
    """A proxy in front of the session PostgreSQL (``proxy.url(postgres_server.dsn)``)."""
    yield from _proxy(postgres_server, postgres_server.port)


@pytest.fixture
def rabbitmq_proxy(rabbitmq_server: RabbitMQServer) -> Iterator[TcpProxy]:
    """A proxy in front of the session RabbitMQ's AMQP port (``proxy.url(rabbitmq_vhost)``)."""
    yield from _proxy(rabbitmq_server, rabbitmq_server.port)
