"""Supervisor: child processes that run together, each with its own log file, stopped together.

The devkit's one process supervisor: the local control plane's components
(:mod:`euglena_devkit.cluster`), ``make run``'s gateway, agents and operator
(:mod:`euglena_devkit.run`), and the operator the cluster tests run. Each child runs in its own
session, so a Ctrl-C meant for the parent reaches only the parent, which then stops them all;
unless ``detach`` is set, Linux also stops a child whose parent died without cleaning up
(``PR_SET_PDEATHSIG``). (The local servers of :mod:`euglena_devkit.services` are restartable one
by one and keep their own lifecycle in ``LocalServer``.)
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from euglena_devkit.services.procs import tail_file

_PR_SET_PDEATHSIG = 1


class ProcessExited(RuntimeError):
    """A supervised process ended while the others still needed it."""


def _die_with_parent_hook() -> Callable[[], None] | None:
    """Ask Linux to SIGTERM the child if the Python process dies without cleaning up."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Supervisor:
    """Started children in start order; ``stop_all`` ends them last-started first."""

    def __init__(self, logs_dir: Path, *, detach: bool = False) -> None:
        self.logs_dir = logs_dir
        self.detach = detach
        self._children: list[Child] = []

    def start(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        """Start ``cmd`` with its output in ``<logs_dir>/<name>.log`` (the command line first)."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log = self.logs_dir / f"{name}.log"
        with log.open("wb") as out:
            out.write(f"$ {' '.join(cmd)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=None if self.detach else _die_with_parent_hook(),
            )
        child = Child(name, process, log)
        self._children.append(child)
        return child

    @property
    def pids(self) -> dict[str, int]:
        return {c.name: c.process.pid for c in self._children}

    def tail(self, name: str, lines: int = 40) -> str:
        return tail_file(self.logs_dir / f"{name}.log", lines)

    def check(self, waiting_for: str = "") -> None:
        """Raise :class:`ProcessExited` (with the end of its log) if any child has ended."""
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                during = f" while waiting for {waiting_for}" if waiting_for else ""
                raise ProcessExited(
                    f"{child.name} exited with code {code}{during}; log {child.log}:\n"
                    f"{self.tail(child.name)}"
                )

    def forget(self) -> None:
        """Let the (detached) children run on without this supervisor."""
        self._children.clear()

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM every child (last started first), wait ``grace`` seconds, then SIGKILL."""
        children, self._children = list(reversed(self._children)), []
        for child in children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
