"""A local Redis server, and a minimal RESP client to probe it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceError
from euglena_devkit.services.procs import HOST, find_binary, free_port


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
