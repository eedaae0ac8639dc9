"""A local RabbitMQ node with the management plugin, its own epmd and Erlang cookie."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import urllib.parse
from pathlib import Path

import httpx

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceStartError
from euglena_devkit.services.procs import (
    HOST,
    find_binary,
    free_port,
    port_accepts,
    signal_group,
    tail_file,
)
from euglena_devkit.waiting import TimedOut, eventually

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
        try:
            eventually(lambda: port_accepts(self.epmd_port), 10.0, "epmd to listen")
        except TimedOut:
            raise ServiceStartError(
                f"epmd did not listen on {self.epmd_port}:\n{tail_file(self.base_dir / 'epmd.log')}"
            ) from None

    def _after_stop(self) -> None:
        epmd, self._epmd_proc = self._epmd_proc, None
        if epmd is not None:
            signal_group(epmd.pid, signal.SIGTERM)
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
