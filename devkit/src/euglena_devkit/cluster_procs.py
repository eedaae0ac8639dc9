"""Processes of the local control plane: start with a log file, wait on health, stop."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

Check = Callable[[], bool]
_POLL_INTERVAL = 0.1
_STOP_GRACE = 10.0
_PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """The control plane could not be started, or one of its components died."""


class ToolsMissing(ClusterError):
    """The binaries are not built for the pinned versions (``make k8s-tools``)."""


def _die_with_parent_hook() -> Callable[[], None] | None:
    """Ask Linux to SIGTERM the child if the Python process dies without cleaning up."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def http_ok(url: str, *, contains: str | None = None, insecure: bool = False) -> Check:
    """A check that ``url`` answers 200 (and contains ``contains``).

    ``insecure`` is for loopback components that serve a self-signed certificate and whose
    health endpoints need no authentication: only the status code matters there.
    """

    def check() -> bool:
        response = httpx.get(url, timeout=2.0, verify=not insecure)
        return response.status_code == 200 and (contains is None or contains in response.text)

    return check


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ComponentSet:
    """The started components, in start order; stopped in reverse order."""

    def __init__(self, logs_dir: Path, *, detach: bool) -> None:
        self.logs_dir = logs_dir
        self.detach = detach
        self._items: list[Component] = []

    def start(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> Component:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log = self.logs_dir / f"{name}.log"
        with log.open("ab") as out:
            out.write(f"$ {' '.join(cmd)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                # Own session: a Ctrl-C meant for pytest reaches the fixture, which then
                # stops the components in order, instead of killing them all at once.
                start_new_session=True,
                preexec_fn=None if self.detach else _die_with_parent_hook(),
            )
        component = Component(name, process, log)
        self._items.append(component)
        return component

    @property
    def pids(self) -> dict[str, int]:
        return {c.name: c.process.pid for c in self._items}

    def tail(self, name: str, lines: int = 40) -> str:
        log = self.logs_dir / f"{name}.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def raise_if_dead(self, waiting_for: str) -> None:
        for component in self._items:
            code = component.process.poll()
            if code is not None:
                raise ClusterError(
                    f"{component.name} exited with code {code} while waiting for {waiting_for}; "
                    f"log {component.log}:\n{self.tail(component.name)}"
                )

    def forget(self) -> None:
        self._items.clear()

    def stop_all(self) -> None:
        while self._items:
            self._items.pop().stop()


def poll(what: str, check: Check, timeout: float, components: ComponentSet) -> None:
    """Call ``check`` until it returns True; fail early when a component exits."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        components.raise_if_dead(what)
        try:
            if check():
                return
        except (httpx.HTTPError, OSError) as exc:
            last_error = f" (last error: {exc!r})"
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {name} ---\n{components.tail(name, 15)}" for name in components.pids
            )
            raise ClusterError(
                f"timed out after {timeout:.0f}s waiting for {what}{last_error}\n{tails}"
            )
        time.sleep(_POLL_INTERVAL)
