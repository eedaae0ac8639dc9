"""Helpers for the browser tier: agent processes, the Node scenario driver, local sign-in."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from euglena_devkit.local_gateway import RunningGateway
from euglena_devkit.services import free_port

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
DIST = FRONTEND / "dist"
DRIVER = FRONTEND / "e2e" / "driver.mjs"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
SCENARIO_TIMEOUT = 90.0


def install_chromium() -> str:
    """Try the Debian package; return why it failed ("" on success)."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for args in (
            [apt, "install", "-y", "-q", "chromium"],
            [apt, "update", "-q"],
            [apt, "install", "-y", "-q", "chromium"],
        ):
            done = subprocess.run(args, env=env, capture_output=True, timeout=600, check=False)
            if args[1] == "install" and done.returncode == 0 and CHROMIUM.exists():
                return ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get failed: {exc}"
    return "`apt-get install chromium` failed"


@dataclass
class AgentProcess:
    proc: subprocess.Popen[bytes]
    health_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@dataclass
class Agents:
    """``python -m euglena_agent`` workers wired to the test's gateway services."""

    gateway: RunningGateway
    tmp_path: Path
    running: list[AgentProcess] = field(default_factory=list)

    async def start(self, count: int = 1, **settings: str) -> list[AgentProcess]:
        started = [self._spawn(settings) for _ in range(count)]
        self.running.extend(started)
        await asyncio.gather(*(self._ready(agent) for agent in started))
        return started

    def _spawn(self, settings: dict[str, str]) -> AgentProcess:
        worker_id = f"browser-agent-{uuid.uuid4().hex[:8]}"
        port = free_port()
        env = {
            **os.environ,
            **self.gateway.env,
            "MODEL_API_URL": "",
            "SEARCH_API_URL": "",
            "WORKER_ID": worker_id,
            "POD_NAME": worker_id,
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(port),
            "HEARTBEAT_SECONDS": "1",
            "SHUTDOWN_GRACE_SECONDS": "3",
            "CHROMA_PATH": str(self.tmp_path / f"chroma-{worker_id}"),
            **{key.upper(): value for key, value in settings.items()},
        }
        log_path = self.tmp_path / f"{worker_id}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "euglena_agent"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return AgentProcess(proc, f"http://127.0.0.1:{port}/healthz", log_path)

    async def _ready(self, agent: AgentProcess, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if agent.proc.poll() is not None:
                    pytest.fail(f"agent exited with {agent.proc.returncode}:\n{agent.log()}")
                try:
                    if (await client.get(agent.health_url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"agent not healthy within {timeout:g}s:\n{agent.log()}")
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        for agent in self.running:
            if agent.proc.poll() is None:
                agent.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for agent in self.running:
            while agent.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if agent.proc.poll() is None:
                agent.proc.kill()
                agent.proc.wait(timeout=10)
        self.running.clear()


class Browser:
    """Runs one scenario of frontend/e2e/driver.mjs against a gateway's URL."""

    def __init__(self, chromium: Path, base_url: str) -> None:
        self.chromium = chromium
        self.base_url = base_url

    async def __call__(self, name: str, **params: Any) -> dict[str, Any]:
        request = {
            "scenario": name,
            "baseUrl": self.base_url,
            "artifacts": str(SCREENSHOTS),
            "chromium": str(self.chromium),
            "timeoutMs": 60_000,
            "params": params,
        }
        # A subprocess awaited on the event loop: the in-process gateway keeps serving meanwhile.
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(DRIVER),
            cwd=FRONTEND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(request).encode()), SCENARIO_TIMEOUT
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"browser scenario {name} took longer than {SCENARIO_TIMEOUT:g}s")
        if proc.returncode != 0:
            pytest.fail(
                f"browser scenario {name} failed (screenshots in {SCREENSHOTS}):\n"
                f"{err.decode(errors='replace')}",
                pytrace=False,
            )
        answer = json.loads(out.decode().strip().splitlines()[-1])
        assert answer["problems"] == [], answer["problems"]
        result: dict[str, Any] = answer["result"]
        return result


async def dev_sign_in(gateway: RunningGateway, user: str) -> tuple[str, dict[str, str]]:
    """The same local sign-in the UI uses: user id and headers for the API."""
    response = await gateway.client.post("/dev/token", json={"user": user})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["user_id"], {"Authorization": f"Bearer {body['access_token']}"}
