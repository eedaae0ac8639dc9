"""LocalServer: one server process in its own base directory, started until ready."""

from __future__ import annotations

import abc
import atexit
import contextlib
import logging
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from euglena_devkit.services.errors import ServiceStartError
from euglena_devkit.services.procs import Account, signal_group, tail_file
from euglena_devkit.waiting import TimedOut, eventually

log = logging.getLogger(__name__)


_live_servers: set[LocalServer] = set()
_live_lock = threading.Lock()


class LocalServer(abc.ABC):
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
        """One-time set-up of the base directory (config files, initdb); optional."""
        return None

    @abc.abstractmethod
    def _command(self) -> tuple[list[str], dict[str, str]]:
        """The server's argv and extra environment."""

    @abc.abstractmethod
    def _ready(self) -> bool:
        """Whether the server answers like a ready one (a real protocol probe)."""

    def _account(self) -> Account | None:
        return None

    def _before_spawn(self) -> None:
        """Runs before every spawn (e.g. a helper daemon). Optional; nothing by default."""
        return None

    def _after_stop(self) -> None:
        """Runs after every stop. Optional; nothing by default."""
        return None

    def _send_stop_signal(self, proc: subprocess.Popen[bytes]) -> None:
        signal_group(proc.pid, signal.SIGTERM)

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
                signal_group(self._proc.pid, signal.SIGKILL)
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
        return tail_file(self.log_path, lines)

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

        try:
            eventually(ready_or_exited, self.startup_timeout, f"{self.name} to be ready")
        except TimedOut:
            raise ServiceStartError(
                f"{self.name} was not ready after {self.startup_timeout:.0f} s; "
                f"log {self.log_path}:\n{self.log_tail()}"
            ) from None
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
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self._after_stop()


@atexit.register
def _close_all_servers() -> None:
    with _live_lock:
        servers = list(_live_servers)
    for server in servers:
        with contextlib.suppress(Exception):
            server.close()
