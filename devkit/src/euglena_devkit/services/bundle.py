"""LocalServices: Redis + RabbitMQ + PostgreSQL (+ ChromaDB), started concurrently."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.chroma import ChromaServer
from euglena_devkit.services.errors import ServiceError, ServiceStartError, ServiceUnavailable
from euglena_devkit.services.postgres import PostgresServer
from euglena_devkit.services.rabbitmq import RabbitMQServer
from euglena_devkit.services.redis import RedisServer


class LocalServices:
    """Redis + RabbitMQ + PostgreSQL (with the Supabase SQL applied), started concurrently."""

    def __init__(
        self,
        repo_root: str | Path | None = None,
        base_dir: str | Path | None = None,
        *,
        supabase: bool = True,
        chroma: bool = False,
    ) -> None:
        self.repo_root = Path(repo_root) if repo_root is not None else None
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.supabase = supabase and self.repo_root is not None
        self.with_chroma = chroma
        self.redis: RedisServer | None = None
        self.rabbitmq: RabbitMQServer | None = None
        self.postgres: PostgresServer | None = None
        self.chroma: ChromaServer | None = None

    def _dir(self, name: str) -> Path | None:
        return self.base_dir / name if self.base_dir is not None else None

    def _create(self) -> list[LocalServer]:
        factories: list[Callable[[], LocalServer]] = [
            lambda: RedisServer(self._dir("redis")),
            lambda: RabbitMQServer(self._dir("rabbitmq")),
            lambda: PostgresServer(self._dir("postgres")),
        ]
        if self.with_chroma:
            factories.append(lambda: ChromaServer(self._dir("chroma")))
        servers: list[LocalServer] = []
        problems: list[str] = []
        for factory in factories:
            try:
                servers.append(factory())
            except ServiceUnavailable as exc:
                problems.append(str(exc))
        if problems:
            for server in servers:
                server.close()
            raise ServiceUnavailable("\n".join(problems))
        return servers

    def _start_one(self, server: LocalServer) -> None:
        server.start()
        if isinstance(server, PostgresServer) and self.supabase and self.repo_root is not None:
            server.prepare_supabase(self.repo_root)

    @property
    def servers(self) -> list[LocalServer]:
        candidates = (self.redis, self.rabbitmq, self.postgres, self.chroma)
        return [s for s in candidates if s is not None]

    def start(self) -> Self:
        servers = self._create()
        for server in servers:
            match server:
                case RedisServer():
                    self.redis = server
                case RabbitMQServer():
                    self.rabbitmq = server
                case PostgresServer():
                    self.postgres = server
                case ChromaServer():
                    self.chroma = server
        try:
            with ThreadPoolExecutor(max_workers=len(servers)) as pool:
                futures: list[Future[None]] = [pool.submit(self._start_one, s) for s in servers]
        except BaseException:
            self.close()
            raise
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            self.close()
            raise ServiceStartError("\n\n".join(str(e) for e in errors))
        return self

    def env(self) -> dict[str, str]:
        if self.redis is None or self.rabbitmq is None or self.postgres is None:
            raise ServiceError("services are not started")
        env = {
            "REDIS_URL": self.redis.url,
            "RABBITMQ_URL": self.rabbitmq.amqp_url,
            "RABBITMQ_MANAGEMENT_URL": self.rabbitmq.management_url,
            "DATABASE_URL": self.postgres.dsn,
        }
        if self.chroma is not None:
            env["CHROMA_URL"] = self.chroma.url
        return env

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def close(self) -> None:
        for server in self.servers:
            server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
