"""``python -m euglena_devkit.services up|down|env``: the local services for development.

State lives under ``<repo>/.run/services/`` unless ``--state-dir``::

    python -m euglena_devkit.services up [--detach] [--chroma] [--no-supabase]
        Starts Redis, RabbitMQ and PostgreSQL (with supabase/local/auth_shim.sql, the
        migrations and supabase/seed.sql applied), prints ``KEY=value`` lines (REDIS_URL,
        RABBITMQ_URL, RABBITMQ_MANAGEMENT_URL, DATABASE_URL, + CHROMA_URL) on stdout once
        all are ready, and writes the same lines to ``.run/services/env``. In the foreground
        it runs until SIGINT/SIGTERM; with ``--detach`` it returns once ready and leaves a
        supervisor process running. Data and logs live in ``.run/services/data/<service>/``
        (``<service>.log``) and start fresh on every ``up``. Exit status 1 if something
        fails to start, 2 if services are already up.
    python -m euglena_devkit.services down    stops a detached (or foreground) ``up``
    python -m euglena_devkit.services env     prints the ``KEY=value`` lines of a running ``up``

Common options: ``--repo-root DIR`` (default: nearest parent with ``supabase/`` and
``pyproject.toml``), ``--state-dir DIR`` (default ``REPO/.run/services``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from euglena_devkit.services.bundle import LocalServices
from euglena_devkit.services.errors import ServiceError
from euglena_devkit.services.procs import pid_alive, signal_group, tail_file
from euglena_devkit.waiting import TimedOut, eventually

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
                signal_group(pgid, signal.SIGKILL)


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

    with contextlib.suppress(TimedOut):
        eventually(settled, 300.0, "the services' supervisor to settle", interval=0.1)
    state = _read_state(state_dir)
    if proc.poll() is not None or state is None:
        if proc.poll() is None:
            proc.terminate()
        sys.stderr.write(
            f"services: failed to start; {supervisor_log}:\n{tail_file(supervisor_log)}\n"
        )
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
        try:
            eventually(lambda: not pid_alive(pid), 120.0, f"pid {pid} to stop", interval=0.1)
        except TimedOut:
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
