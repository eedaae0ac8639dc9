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
    with LocalServices(repo_root) as services:   # Redis + RabbitMQ + Postgres (+Supabase SQL)
        services.env()  # REDIS_URL, RABBITMQ_URL, RABBITMQ_MANAGEMENT_URL, DATABASE_URL
                        # (+ CHROMA_URL with chroma=True)

CLI (state under ``<repo>/.run/services/`` unless ``--state-dir``)::

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

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx
import yaml

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
INSTALL_HINT = "hack/install-deps.sh installs all of them"
_POLL_INTERVAL = 0.05


class ServiceError(RuntimeError):
    """Base of the devkit's service errors."""


class ServiceUnavailable(ServiceError):
    """A server binary is not installed."""


class ServiceStartError(ServiceError):
    """A server did not become ready; the message carries the tail of its log."""


class SqlError(ServiceError):
    """A SQL file or statement failed."""


# --------------------------------------------------------------------------- helpers

_port_lock = threading.Lock()
_ports_handed_out: set[int] = set()


def free_port() -> int:
    """A currently free loopback TCP port, never the same one twice in this process."""
    with _port_lock:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((HOST, 0))
                port: int = sock.getsockname()[1]
            if port not in _ports_handed_out:
                _ports_handed_out.add(port)
                return port


def port_accepts(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_binary(name: str, *, package: str, search_dirs: Iterable[str | Path] = ()) -> str:
    """Path of an executable, or ServiceUnavailable naming the Debian package that has it."""
    for directory in search_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ServiceUnavailable(
        f"'{name}' was not found: install the Debian package '{package}' ({INSTALL_HINT}: "
        "redis-server rabbitmq-server postgresql prometheus)."
    )


def _postgres_bindirs() -> list[Path]:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (PID 1 in a container may not reap)."""
    try:
        proc_stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return proc_stat.rpartition(")")[2].split()[0] != "Z"


def wait_until(
    condition: Callable[[], bool], timeout: float, interval: float = _POLL_INTERVAL
) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass(frozen=True)
class _Account:
    name: str
    uid: int
    gid: int

    def can_traverse(self, path: Path) -> bool:
        """Whether this account may reach ``path`` (execute permission on it and every parent)."""
        groups = set(os.getgrouplist(self.name, self.gid))
        for directory in (path, *path.parents):
            st = directory.stat()
            if st.st_uid == self.uid:
                bit = stat.S_IXUSR
            elif st.st_gid in groups:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if not st.st_mode & bit:
                return False
        return True


# --------------------------------------------------------------------------- base


_live_servers: set[LocalServer] = set()
_live_lock = threading.Lock()


class LocalServer:
    """One server process in its own base directory; subclasses say how to run and probe it."""

    name: ClassVar[str] = "server"
    startup_timeout: ClassVar[float] = 30.0
    stop_timeout: ClassVar[float] = 30.0

    def __init__(self, base_dir: str | Path | None = None) -> None:
        self._owns_dir = base_dir is None
        if base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix=f"euglena-{self.name}-"))
        else:
            self.base_dir = Path(base_dir).resolve()
            self.base_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.base_dir / f"{self.name}.log"
        self.work_dir = self.base_dir
        self.last_start_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._prepared = False
        self._lock = threading.RLock()
        with _live_lock:
            _live_servers.add(self)

    # -- subclass hooks
    def _prepare(self) -> None:
        """One-time set-up of the base directory (config files, initdb)."""

    def _command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _account(self) -> _Account | None:
        return None

    def _before_spawn(self) -> None:
        """Runs before every spawn (e.g. a helper daemon)."""

    def _after_stop(self) -> None:
        """Runs after every stop."""

    def _send_stop_signal(self, proc: subprocess.Popen[bytes]) -> None:
        _signal_group(proc.pid, signal.SIGTERM)

    # -- lifecycle
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def process_groups(self) -> list[int]:
        """Process groups this server runs in (each child starts a new session)."""
        return [self._proc.pid] if self.running and self._proc is not None else []

    def start(self) -> Self:
        with self._lock:
            if self.running:
                return self
            began = time.monotonic()
            if not self._prepared:
                self._prepare()
                self._prepared = True
            try:
                self._before_spawn()
                self._proc = self._spawn(*self._command())
                self._wait_ready(self._proc)
            except BaseException:
                self._terminate()
                raise
            self.last_start_seconds = time.monotonic() - began
            log.info("%s ready in %.1f s (%s)", self.name, self.last_start_seconds, self.base_dir)
        return self

    def stop(self) -> None:
        with self._lock:
            self._terminate()

    def kill(self) -> None:
        """Stop abruptly (SIGKILL to the process group), as a crash would."""
        with self._lock:
            if self._proc is not None:
                _signal_group(self._proc.pid, signal.SIGKILL)
            self._terminate()

    def close(self) -> None:
        """Stop and, if the base directory was a temporary one, remove it.

        Data in a temporary directory is about to be deleted, so there is nothing to shut down
        gracefully for: the server is killed (RabbitMQ's clean shutdown alone takes ~6 s).
        """
        if self._owns_dir:
            self.kill()
        else:
            self.stop()
        with _live_lock:
            _live_servers.discard(self)
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals
    def _spawn(
        self, argv: list[str], env: dict[str, str], log_path: Path | None = None
    ) -> subprocess.Popen[bytes]:
        account = self._account()
        with open(log_path or self.log_path, "ab") as out:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.work_dir,
                start_new_session=True,
                user=account.uid if account else None,
                group=account.gid if account else None,
                extra_groups=[] if account else None,
            )

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        def ready_or_exited() -> bool:
            return proc.poll() is not None or self._ready()

        if not wait_until(ready_or_exited, self.startup_timeout):
            raise ServiceStartError(
                f"{self.name} was not ready after {self.startup_timeout:.0f} s; "
                f"log {self.log_path}:\n{self.log_tail()}"
            )
        if proc.poll() is not None:
            raise ServiceStartError(
                f"{self.name} exited with status {proc.returncode} while starting; "
                f"log {self.log_path}:\n{self.log_tail()}"
            )

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                self._send_stop_signal(proc)
                try:
                    proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    log.warning(
                        "%s did not stop in %.0f s; killing it", self.name, self.stop_timeout
                    )
            # leftovers in the process group (erl_child_setup, a wrapper script's children)
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self._after_stop()


@atexit.register
def _close_all_servers() -> None:
    with _live_lock:
        servers = list(_live_servers)
    for server in servers:
        with contextlib.suppress(Exception):
            server.close()


# --------------------------------------------------------------------------- Redis


def redis_command(port: int, *args: str, host: str = HOST, timeout: float = 2.0) -> str:
    """Send one command over RESP and return the first reply line (``+PONG``, ``-ERR ...``)."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0].decode(errors="replace")


class RedisServer(LocalServer):
    name = "redis"
    startup_timeout = 20.0

    def __init__(self, base_dir: str | Path | None = None) -> None:
        self._binary = find_binary("redis-server", package="redis-server")
        super().__init__(base_dir)
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _prepare(self) -> None:
        (self.base_dir / "redis.conf").write_text(
            f"bind {HOST}\nport {self.port}\nprotected-mode yes\ndaemonize no\n"
            f'dir "{self.base_dir}"\nsave ""\nappendonly no\nlogfile ""\n'
        )

    def _command(self) -> tuple[list[str], dict[str, str]]:
        return [self._binary, str(self.base_dir / "redis.conf")], dict(os.environ)

    def _ready(self) -> bool:
        try:
            return redis_command(self.port, "PING") == "+PONG"
        except OSError:
            return False

    def flushall(self) -> None:
        reply = redis_command(self.port, "FLUSHALL")
        if reply != "+OK":
            raise ServiceError(f"redis FLUSHALL failed: {reply}")


# --------------------------------------------------------------------------- RabbitMQ


# Queue counters in the management API normally lag by up to 5 s (Ra tick, 5 s samples);
# tests and the operator's autoscaling read them, so refresh them every second.
_RABBITMQ_SAMPLES = (
    "[{global, [{605, 1}, {3660, 60}]}, {basic, [{605, 1}]}, {detailed, [{605, 1}]}]"
)
_RABBITMQ_ADVANCED_CONFIG = f"""[
  {{rabbit, [{{quorum_tick_interval, 1000}}]}},
  {{rabbitmq_management_agent, [{{sample_retention_policies, {_RABBITMQ_SAMPLES}}}]}},
  {{rabbitmq_management, [{{sample_retention_policies, {_RABBITMQ_SAMPLES}}}]}}
].
"""


class RabbitMQServer(LocalServer):
    """A single RabbitMQ node with the management plugin, its own epmd and Erlang cookie."""

    name = "rabbitmq"
    startup_timeout = 120.0
    stop_timeout = 60.0
    username = "guest"
    password = "guest"

    def __init__(self, base_dir: str | Path | None = None) -> None:
        self._server = find_binary(
            "rabbitmq-server", package="rabbitmq-server", search_dirs=["/usr/lib/rabbitmq/bin"]
        )
        self._epmd = find_binary("epmd", package="rabbitmq-server", search_dirs=["/usr/bin"])
        super().__init__(base_dir)
        self.port = free_port()
        self.management_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node_name = f"euglena_{secrets.token_hex(4)}@localhost"
        self._epmd_proc: subprocess.Popen[bytes] | None = None

    @property
    def amqp_url(self) -> str:
        return self.amqp_url_for("/")

    def amqp_url_for(self, vhost: str) -> str:
        quoted = urllib.parse.quote(vhost, safe="")
        return f"amqp://{self.username}:{self.password}@{HOST}:{self.port}/{quoted}"

    @property
    def management_api(self) -> str:
        return f"http://{HOST}:{self.management_port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.username}:{self.password}@{HOST}:{self.management_port}"

    @property
    def process_groups(self) -> list[int]:
        groups = super().process_groups
        if self._epmd_proc is not None and self._epmd_proc.poll() is None:
            groups.append(self._epmd_proc.pid)
        return groups

    def management(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.management_api, auth=(self.username, self.password), timeout=10.0
        )

    def create_vhost(self, vhost: str) -> str:
        """Create ``vhost`` with full permissions for the default user; return its AMQP URL."""
        quoted = urllib.parse.quote(vhost, safe="")
        with self.management() as api:
            api.put(f"/api/vhosts/{quoted}").raise_for_status()
            api.put(
                f"/api/permissions/{quoted}/{self.username}",
                json={"configure": ".*", "write": ".*", "read": ".*"},
            ).raise_for_status()
        return self.amqp_url_for(vhost)

    def delete_vhost(self, vhost: str) -> None:
        with self.management() as api:
            response = api.delete(f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}")
            if response.status_code != 404:
                response.raise_for_status()

    def _prepare(self) -> None:
        home = self.base_dir / "home"
        home.mkdir(exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        (self.base_dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.base_dir / "rabbitmq-env.conf").write_text("")
        (self.base_dir / "advanced.config").write_text(_RABBITMQ_ADVANCED_CONFIG)
        (self.base_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {HOST}:{self.port}\n"
            f"management.tcp.ip = {HOST}\n"
            f"management.tcp.port = {self.management_port}\n"
            "loopback_users.guest = true\n"
            "collect_statistics_interval = 500\n"
            "log.console = true\n"
            "log.console.level = info\n"
        )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        base = self.base_dir
        env.update(
            HOME=str(base / "home"),
            RABBITMQ_NODENAME=self.node_name,
            RABBITMQ_NODE_IP_ADDRESS=HOST,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_PID_FILE=str(base / "rabbitmq.pid"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
            ),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS=HOST,
        )
        return env

    def _before_spawn(self) -> None:
        if self._epmd_proc is not None and self._epmd_proc.poll() is None:
            return
        self._epmd_proc = self._spawn(
            [self._epmd, "-port", str(self.epmd_port), "-address", HOST],
            self._env(),
            self.base_dir / "epmd.log",
        )
        if not wait_until(lambda: port_accepts(self.epmd_port), 10.0):
            raise ServiceStartError(
                f"epmd did not listen on {self.epmd_port}:\n{_tail(self.base_dir / 'epmd.log')}"
            )

    def _after_stop(self) -> None:
        epmd, self._epmd_proc = self._epmd_proc, None
        if epmd is not None:
            _signal_group(epmd.pid, signal.SIGTERM)
            epmd.wait()

    def _command(self) -> tuple[list[str], dict[str, str]]:
        return [self._server], self._env()

    def _ready(self) -> bool:
        if not port_accepts(self.port):
            return False
        try:
            with self.management() as api:
                return api.get("/api/overview").status_code == 200
        except httpx.HTTPError:
            return False


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_account() -> _Account | None:
    """The unprivileged user postgres runs as when we are root (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "postgres"],
            check=True, capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam("postgres")
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


class PostgresServer(LocalServer):
    """PostgreSQL with superuser ``postgres`` (password auth over TCP) and database ``postgres``."""

    name = "postgres"
    startup_timeout = 60.0
    user = "postgres"
    database = "postgres"

    def __init__(self, base_dir: str | Path | None = None, *, password: str | None = None) -> None:
        bindirs = _postgres_bindirs()
        self._bin = {
            tool: find_binary(tool, package="postgresql", search_dirs=bindirs)
            for tool in ("initdb", "postgres", "pg_isready", "psql")
        }
        super().__init__(base_dir)
        self.port = free_port()
        self.password = password or secrets.token_urlsafe(18)
        self._service_account = account = _postgres_account()
        self._private_cluster_dir = False
        if account is not None and self._owns_dir:
            self.base_dir.chmod(0o711)
        if account is not None and not account.can_traverse(self.base_dir):
            # e.g. under pytest's 0700 tmp dirs: the cluster goes where postgres can reach it,
            # the log stays in base_dir (it is opened by this process).
            self.work_dir = Path(tempfile.mkdtemp(prefix="euglena-postgres-cluster-"))
            self.work_dir.chmod(0o711)
            self._private_cluster_dir = True
        self.data_dir = self.work_dir / "data"
        self.socket_dir = self.work_dir / "socket"

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{HOST}:{self.port}/{self.database}"

    def _account(self) -> _Account | None:
        return self._service_account

    def _client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGPASSWORD=self.password, PGCONNECT_TIMEOUT="5")
        return env

    def _prepare(self) -> None:
        account = self._service_account
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            if account is not None:
                os.chown(directory, account.uid, account.gid)
        if (self.data_dir / "PG_VERSION").exists():
            return
        pwfile = self.work_dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if account is not None:
            os.chown(pwfile, account.uid, account.gid)
        argv = [self._bin["initdb"], "-D", str(self.data_dir), "-U", self.user,
                f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--no-locale", "--no-sync"]  # fmt: skip
        try:
            initdb = self._spawn(argv, self._client_env())
            status = initdb.wait(120)
        finally:
            pwfile.unlink(missing_ok=True)
        if status != 0:
            raise ServiceStartError(f"initdb failed ({status}); log {self.log_path}:\n"
                                    f"{self.log_tail()}")  # fmt: skip

    def _command(self) -> tuple[list[str], dict[str, str]]:
        settings = {
            "listen_addresses": HOST,
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        argv = [self._bin["postgres"], "-D", str(self.data_dir), "-p", str(self.port)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv, self._client_env()

    def _ready(self) -> bool:
        probe = subprocess.run(
            [self._bin["pg_isready"], "-q", "-h", HOST, "-p", str(self.port), "-U", self.user,
             "-d", self.database, "-t", "1"],
            env=self._client_env(), check=False,
        )  # fmt: skip
        return probe.returncode == 0

    def close(self) -> None:
        super().close()
        if self._private_cluster_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _send_stop_signal(self, proc: subprocess.Popen[bytes]) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)

    def psql(self, *args: str) -> str:
        """Run psql against the server with ON_ERROR_STOP; return stdout, raise SqlError."""
        result = subprocess.run(
            [self._bin["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, *args],
            env=self._client_env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise SqlError(f"psql {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def execute(self, sql: str) -> str:
        return self.psql("-c", sql)

    def apply_sql_files(self, paths: Iterable[str | Path]) -> list[Path]:
        """Apply each file in its own transaction, in the given order; stop at the first error."""
        applied = []
        for path in map(Path, paths):
            self.psql("--single-transaction", "-f", str(path))
            applied.append(path)
            log.debug("applied %s", path)
        return applied

    def prepare_supabase(self, repo_root: str | Path) -> list[Path]:
        """Apply the local auth shim, ``supabase/migrations/*.sql`` by name, then the seed."""
        return self.apply_sql_files(supabase_sql_files(repo_root))


def supabase_sql_files(repo_root: str | Path) -> list[Path]:
    supabase = Path(repo_root) / "supabase"
    shim = supabase / "local" / "auth_shim.sql"
    seed = supabase / "seed.sql"
    if not shim.is_file():
        log.warning("%s is missing; applying the migrations without the auth shim", shim)
    return [
        *([shim] if shim.is_file() else []),
        *sorted((supabase / "migrations").glob("*.sql"), key=lambda p: p.name),
        *([seed] if seed.is_file() else []),
    ]


# --------------------------------------------------------------------------- Prometheus


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    address: str
    metrics_path: str = "/metrics"


class PrometheusServer(LocalServer):
    name = "prometheus"
    startup_timeout = 60.0

    def __init__(
        self,
        targets: Sequence[ScrapeTarget] = (),
        rule_files: Sequence[str | Path] = (),
        base_dir: str | Path | None = None,
        *,
        scrape_interval: str = "1s",
    ) -> None:
        self._binary = find_binary("prometheus", package="prometheus")
        super().__init__(base_dir)
        self.port = free_port()
        self.targets = list(targets)
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.scrape_interval = scrape_interval

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.base_dir / "prometheus.yml"

    def write_config(self) -> None:
        jobs: dict[tuple[str, str], list[str]] = {}
        for target in self.targets:
            jobs.setdefault((target.job, target.metrics_path), []).append(target.address)
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [
                {"job_name": job, "metrics_path": path, "static_configs": [{"targets": addrs}]}
                for (job, path), addrs in jobs.items()
            ],
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def _command(self) -> tuple[list[str], dict[str, str]]:
        self.write_config()
        return [
            self._binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.base_dir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            "--web.enable-lifecycle",
        ], dict(os.environ)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def reload(self) -> None:
        """Rewrite the config from ``targets``/``rule_files`` and make Prometheus re-read it."""
        self.write_config()
        httpx.post(f"{self.url}/-/reload", timeout=10.0).raise_for_status()

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise ServiceError(f"query {expr!r} failed: {body.get('error', response.text)}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


# --------------------------------------------------------------------------- ChromaDB


def _chroma_binary() -> str:
    venv_bin = Path(sys.executable).parent
    candidate = venv_bin / "chroma"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("chroma")
    if found:
        return found
    raise ServiceUnavailable(
        f"chromadb's 'chroma' CLI was not found on PATH or in {venv_bin}: install the Python "
        "package chromadb (a dependency of euglena-agent; run `uv sync`)."
    )


class ChromaServer(LocalServer):
    name = "chroma"
    startup_timeout = 90.0

    def __init__(self, base_dir: str | Path | None = None) -> None:
        self._binary = _chroma_binary()
        super().__init__(base_dir)
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _command(self) -> tuple[list[str], dict[str, str]]:
        argv = [self._binary, "run", "--host", HOST, "--port", str(self.port),
                "--path", str(self.base_dir / "data")]  # fmt: skip
        env = dict(os.environ)
        env["ANONYMIZED_TELEMETRY"] = "False"
        return argv, env

    def _ready(self) -> bool:
        for path in ("/api/v2/heartbeat", "/api/v1/heartbeat"):
            try:
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                return False
        return False


# --------------------------------------------------------------------------- bundle


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


# --------------------------------------------------------------------------- CLI

_STATE_FILE = "state.json"
_ENV_FILE = "env"


def _default_repo_root() -> Path:
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / "supabase").is_dir() and (directory / "pyproject.toml").is_file():
            return directory
    return here


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((state_dir / _STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state


def _env_lines(env: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in env.items())


def _process_mentions(pid: int, text: str) -> bool:
    for name in ("cmdline", "environ"):
        with contextlib.suppress(OSError):
            if text.encode() in Path(f"/proc/{pid}/{name}").read_bytes():
                return True
    return False


def _kill_leftovers(state: dict[str, Any]) -> None:
    for service in state.get("services", []):
        for pgid in service.get("process_groups", []):
            dirs = {service["base_dir"], service.get("work_dir", service["base_dir"])}
            if pid_alive(pgid) and any(_process_mentions(pgid, d) for d in dirs):
                _signal_group(pgid, signal.SIGKILL)


def _clear_state(state_dir: Path) -> None:
    for name in (_STATE_FILE, _ENV_FILE):
        (state_dir / name).unlink(missing_ok=True)


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _supervise(services: LocalServices, state_dir: Path) -> None:
    env = services.env()
    state = {
        "pid": os.getpid(),
        "env": env,
        "services": [
            {"name": s.name, "base_dir": str(s.base_dir), "work_dir": str(s.work_dir),
             "log": str(s.log_path), "process_groups": s.process_groups}
            for s in services.servers
        ],
    }  # fmt: skip
    (state_dir / _ENV_FILE).write_text(_env_lines(env))
    (state_dir / _STATE_FILE).write_text(json.dumps(state, indent=2))
    sys.stdout.write(_env_lines(env))
    sys.stdout.flush()
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for server in services.servers:
            if not server.running and server.name not in reported:
                reported.add(server.name)
                sys.stderr.write(f"services: {server.name} exited; log {server.log_path}\n")


def _cmd_up_foreground(args: argparse.Namespace, state_dir: Path) -> int:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    data_dir = state_dir / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    services = LocalServices(
        args.repo_root, data_dir, supabase=not args.no_supabase, chroma=args.chroma
    )
    try:
        with services:
            _supervise(services, state_dir)
    except KeyboardInterrupt:
        return 0
    except ServiceError as exc:
        sys.stderr.write(f"services: {exc}\n")
        return 1
    finally:
        _clear_state(state_dir)
    return 0


def _cmd_up_detached(args: argparse.Namespace, state_dir: Path) -> int:
    argv = [sys.executable, "-m", "euglena_devkit.services", "up",
            "--repo-root", str(args.repo_root), "--state-dir", str(state_dir)]  # fmt: skip
    argv += ["--no-supabase"] if args.no_supabase else []
    argv += ["--chroma"] if args.chroma else []
    supervisor_log = state_dir / "supervisor.log"
    with open(supervisor_log, "wb") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def settled() -> bool:
        state = _read_state(state_dir)
        return proc.poll() is not None or (state is not None and state.get("pid") == proc.pid)

    wait_until(settled, 300.0, interval=0.1)
    state = _read_state(state_dir)
    if proc.poll() is not None or state is None:
        if proc.poll() is None:
            proc.terminate()
        sys.stderr.write(f"services: failed to start; {supervisor_log}:\n{_tail(supervisor_log)}\n")
        return 1
    sys.stdout.write(_env_lines(state["env"]))
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    state = _read_state(state_dir)
    if state is not None and pid_alive(state["pid"]):
        sys.stderr.write(f"services: already running (pid {state['pid']}); run `down` first\n")
        return 2
    if state is not None:
        _kill_leftovers(state)
        _clear_state(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    if args.detach:
        return _cmd_up_detached(args, state_dir)
    return _cmd_up_foreground(args, state_dir)


def _cmd_down(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    state = _read_state(state_dir)
    if state is None:
        sys.stdout.write("services: not running\n")
        return 0
    pid = int(state["pid"])
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), 120.0, interval=0.1):
            os.kill(pid, signal.SIGKILL)
    _kill_leftovers(state)
    _clear_state(state_dir)
    sys.stdout.write("services: stopped\n")
    return 0


def _cmd_env(args: argparse.Namespace) -> int:
    state = _read_state(args.state_dir)
    if state is None or not pid_alive(state["pid"]):
        sys.stderr.write("services: not running (start them with `up`)\n")
        return 1
    sys.stdout.write(_env_lines(state["env"]))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m euglena_devkit.services",
        description="Run Redis, RabbitMQ and PostgreSQL locally for Euglena.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo-root", type=Path, default=None, help="repository root")
    common.add_argument("--state-dir", type=Path, default=None,
                        help="state and data directory (default REPO/.run/services)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", parents=[common], help="start the services")
    up.add_argument("--detach", "-d", action="store_true", help="return once ready")
    up.add_argument("--chroma", action="store_true", help="also start ChromaDB (CHROMA_URL)")
    up.add_argument("--no-supabase", action="store_true", help="skip the Supabase SQL")
    up.set_defaults(handler=_cmd_up)
    down = commands.add_parser("down", parents=[common], help="stop services started by up")
    down.set_defaults(handler=_cmd_down)
    env = commands.add_parser("env", parents=[common], help="print the running services' env")
    env.set_defaults(handler=_cmd_env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.repo_root = (args.repo_root or _default_repo_root()).resolve()
    args.state_dir = (args.state_dir or args.repo_root / ".run" / "services").resolve()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
