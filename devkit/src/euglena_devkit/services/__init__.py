"""Real local services on loopback: Redis, RabbitMQ (+management), PostgreSQL, Prometheus, ChromaDB.

Every server runs as a child process on 127.0.0.1 on free ports, in its own base directory
(a fresh temporary one unless given), writes its log there, and counts as started only when a
real readiness condition holds. ``stop()`` (graceful) or ``kill()`` (SIGKILL, a crash) then
``start()`` reuses the same ports and data, so tests can simulate an outage and a recovery.
``close()`` stops and deletes a temporary base directory. Everything still running at
interpreter exit is closed. A missing binary raises :class:`ServiceUnavailable` naming the
Debian package to install (``hack/install-deps.sh`` installs all of them); a server that does
not become ready raises :class:`ServiceStartError` with the tail of its log.

Python API::

    with RedisServer() as redis:            # .url  redis://127.0.0.1:PORT/0
        ...
    RabbitMQServer()    # .amqp_url, .management_url (http://guest:guest@127.0.0.1:PORT),
                        # .management_api (no credentials), .username/.password,
                        # .create_vhost(name) -> amqp url, .delete_vhost(name)
    PostgresServer()    # .dsn postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres,
                        # .apply_sql_files(paths), .prepare_supabase(repo_root), .execute(sql)
    PrometheusServer(targets=[ScrapeTarget("gateway", "127.0.0.1:8000")], rule_files=[...])
                        # .url, .query(expr) -> result list, .reload()
    ChromaServer()      # .url; needs chromadb's ``chroma`` CLI on PATH or in the venv
    LlamaServer()       # .url (MODEL_API_URL), .model (MODEL_NAME): llama-cpp-python serving
                        # SmolLM2-135M; needs ``make model-server`` (hack/model/build.sh)
    with LocalServices(repo_root) as services:   # Redis + RabbitMQ + Postgres (+Supabase SQL)
        services.env()  # REDIS_URL, RABBITMQ_URL, RABBITMQ_MANAGEMENT_URL, DATABASE_URL
                        # (+ CHROMA_URL with chroma=True)

CLI (:mod:`.cli`; state under ``<repo>/.run/services/`` unless ``--state-dir``)::

    python -m euglena_devkit.services up [--detach] [--chroma] [--no-supabase]
        Starts Redis, RabbitMQ and PostgreSQL (with supabase/local/auth_shim.sql, the
        migrations and supabase/seed.sql applied), prints ``KEY=value`` lines (the variables
        above) on stdout once all are ready, and writes the same lines to
        ``.run/services/env``. In the foreground it runs until SIGINT/SIGTERM; with
        ``--detach`` it returns once ready and leaves a supervisor process running.
        Data and logs live in ``.run/services/data/<service>/`` (``<service>.log``) and start
        fresh on every ``up``. Exit status 1 if something fails to start, 2 if services are
        already up.
    python -m euglena_devkit.services down    stops a detached (or foreground) ``up``
    python -m euglena_devkit.services env     prints the ``KEY=value`` lines of a running ``up``

Common options: ``--repo-root DIR`` (default: nearest parent with ``supabase/`` and
``pyproject.toml``), ``--state-dir DIR`` (default ``REPO/.run/services``).
"""

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.bundle import LocalServices
from euglena_devkit.services.chroma import ChromaServer
from euglena_devkit.services.cli import main
from euglena_devkit.services.errors import (
    ServiceError,
    ServiceStartError,
    ServiceUnavailable,
    SqlError,
)
from euglena_devkit.services.llama import LlamaServer
from euglena_devkit.services.postgres import PostgresServer, supabase_sql_files
from euglena_devkit.services.procs import (
    HOST,
    INSTALL_HINT,
    find_binary,
    free_port,
    pid_alive,
    port_accepts,
)
from euglena_devkit.services.prometheus import PrometheusServer, ScrapeTarget
from euglena_devkit.services.rabbitmq import RabbitMQServer
from euglena_devkit.services.redis import RedisServer, redis_command

__all__ = [
    "HOST",
    "INSTALL_HINT",
    "ChromaServer",
    "LlamaServer",
    "LocalServer",
    "LocalServices",
    "PostgresServer",
    "PrometheusServer",
    "RabbitMQServer",
    "RedisServer",
    "ScrapeTarget",
    "ServiceError",
    "ServiceStartError",
    "ServiceUnavailable",
    "SqlError",
    "find_binary",
    "free_port",
    "main",
    "pid_alive",
    "port_accepts",
    "redis_command",
    "supabase_sql_files",
]
