"""``make run``: the whole platform on this machine, in the foreground.

Starts Redis, RabbitMQ and PostgreSQL (with the Supabase schema), the gateway on
127.0.0.1:8000 (``GATEWAY_PORT`` overrides), two agent workers, and — when the local Kubernetes
tools are built — a local control plane with the operator. Prints how to call the API, submits
a sample task and shows its progress until it finishes, then keeps serving until Ctrl-C.

Every run starts from scratch: the services' data and the local cluster's etcd are both created
anew under ``.run/`` (nothing a previous run left, such as a finished sample AgentTask whose
task no longer exists in Postgres, can show up). Logs stay in ``.run/logs`` until the next run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import threading
from contextlib import ExitStack

import httpx

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.cluster import REPO_ROOT
from euglena_devkit.services import LocalServices, ServiceError, free_port
from euglena_devkit.supervisor import Supervisor
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import TimedOut, eventually
from euglena_gateway.devtokens import DEMO_USER_ID, mint_user_token

STATE = REPO_ROOT / ".run"
SAMPLE_MANDATE = "Find out what Euglena gracilis is and summarise it in two sentences."


def say(message: str) -> None:
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def wait_ready(url: str, procs: Supervisor, timeout: float = 60) -> None:
    def ready() -> bool:
        procs.check(waiting_for="the gateway to become ready")
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200

    try:
        eventually(ready, timeout, f"{url}/ready", interval=0.2, ignoring=(httpx.HTTPError,))
    except TimedOut:
        raise RuntimeError(
            f"the gateway at {url} did not become ready; see {procs.logs_dir}"
        ) from None


def follow(url: str, token: str, correlation_id: str) -> dict[str, object]:
    """Print each status change of a task from the gateway's event stream until it ends."""
    headers = {"Authorization": f"Bearer {token}"}
    last: dict[str, object] = {}
    with httpx.stream(
        "GET", f"{url}/tasks/{correlation_id}/events", headers=headers, timeout=None
    ) as response:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            last = json.loads(line[5:])
            action = f", last action: {last.get('last_action')}" if last.get("last_action") else ""
            say(f"  {last['status']:<12} tick {last['ticks']}/{last['max_ticks']}{action}")
    return last


def submit_sample(url: str, token: str) -> None:
    response = httpx.post(
        f"{url}/tasks",
        json={"mandate": SAMPLE_MANDATE, "max_ticks": 5},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    cid = response.json()["correlation_id"]
    say(f"\nSample task {cid} submitted; following its progress:")
    final = follow(url, token, cid)
    say(f"Result: {final.get('result') or final.get('error')}\n")


def print_usage(url: str, token: str) -> None:
    secret_file = STATE / "jwt-secret"
    secret_file.write_text(DEV_JWT_SECRET + "\n")
    (STATE / "demo-token").write_text(token + "\n")
    say(
        f"""
Euglena is running.
  Web UI:     {url}/
  API:        {url}/docs
  Logs:       {STATE / "logs"}
  JWT secret: {secret_file} (HS256; mint tokens for other users with it)

Try it (token for the local demo user {DEMO_USER_ID}, also in {STATE / "demo-token"}):
  curl -s -X POST {url}/tasks \\
    -H "Authorization: Bearer {token}" \\
    -H 'Content-Type: application/json' \\
    -d '{{"mandate": "Summarise what RabbitMQ quorum queues are", "max_ticks": 5}}'
"""
    )


def agent_env(index: int, services_env: dict[str, str]) -> dict[str, str]:
    return {
        **services_env,
        "WORKER_ID": f"local-agent-{index}",
        "POD_NAME": f"local-agent-{index}",
        "HEALTH_PORT": str(free_port()),
        "HEALTH_HOST": "127.0.0.1",
        "CHROMA_PATH": str(STATE / "chroma"),
    }


def run() -> None:
    port = int(os.environ.get("GATEWAY_PORT", "8000"))
    url = f"http://127.0.0.1:{port}"
    STATE.mkdir(exist_ok=True)
    with ExitStack() as stack:
        say("Starting Redis, RabbitMQ and PostgreSQL (with the Supabase schema)…")
        data = STATE / "services-data"
        shutil.rmtree(data, ignore_errors=True)  # every run starts from the seeded schema
        services = stack.enter_context(LocalServices(REPO_ROOT, data))
        env = {
            **services.env(),
            "EUGLENA_ENV": "dev",
            "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
            "SUPABASE_SERVICE_ROLE_KEY": mint_service_token(DEV_JWT_SECRET),
            "GATEWAY_PORT": str(port),
        }
        procs = Supervisor(STATE / "logs")
        stack.callback(procs.stop_all, 15.0)
        python = sys.executable
        procs.start("gateway", [python, "-m", "euglena_gateway"], env={**os.environ, **env})
        for i in (1, 2):
            agent = {**os.environ, **agent_env(i, env)}
            procs.start(f"agent-{i}", [python, "-m", "euglena_agent"], env=agent)
        wait_ready(url, procs)
        token = mint_user_token(DEV_JWT_SECRET, DEMO_USER_ID)
        print_usage(url, token)
        submit_sample(url, token)
        from euglena_devkit.run.kubernetes import start_cluster_side

        start_cluster_side(stack, env, url, procs, say)
        say("Serving. Press Ctrl-C to stop.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1.0):
                procs.check()
        except KeyboardInterrupt:
            pass
        say("Stopping…")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        run()
    except (ServiceError, RuntimeError, httpx.HTTPError) as exc:
        say(f"make run: {exc}")
        sys.exit(1)
