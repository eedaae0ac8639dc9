"""Process and port helpers shared by the local servers (and the devkit's supervisor)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from euglena_devkit.services.errors import ServiceUnavailable

HOST = "127.0.0.1"
INSTALL_HINT = "hack/install-deps.sh installs all of them"

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


def tail_file(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def signal_group(pgid: int, sig: int) -> None:
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


@dataclass(frozen=True)
class Account:
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
