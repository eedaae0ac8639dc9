"""A local PostgreSQL cluster, and the Supabase SQL (auth shim, migrations, seed) to apply to it."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceStartError, SqlError
from euglena_devkit.services.procs import HOST, Account, find_binary, free_port

log = logging.getLogger(__name__)


def _postgres_bindirs() -> list[Path]:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)


def _postgres_account() -> Account | None:
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
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


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

    def _account(self) -> Account | None:
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
