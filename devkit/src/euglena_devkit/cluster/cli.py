"""``python -m euglena_devkit.cluster up|down|env``: one detached local cluster per checkout.

State lives in ``<repo>/.run/cluster/`` (``state.json``, kubeconfig, certificates, etcd data,
``logs/``). ``up`` prints the kubeconfig path on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import sys
import time

import httpx

from euglena_devkit.cluster.errors import ClusterError
from euglena_devkit.cluster.local import LocalCluster
from euglena_devkit.cluster.tools import REPO_ROOT, build_tools, tools_bin_dir, tools_built
from euglena_devkit.waiting import TimedOut, eventually

STATE_DIR = REPO_ROOT / ".run" / "cluster"
STATE_FILE = STATE_DIR / "state.json"
_STOP_ORDER = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


def _say(message: str) -> None:
    sys.stderr.write(f"[cluster] {message}\n")


def _load_state() -> dict[str, object] | None:
    try:
        state: dict[str, object] = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    return state


def _is_ours(pid: int, bin_dir: str) -> bool:
    """True when ``pid`` still runs one of our binaries (pids get reused)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return exe.startswith(bin_dir.rstrip("/") + "/")


def _gone(pid: int, bin_dir: str) -> bool:
    return not _is_ours(pid, bin_dir)


def _running(state: dict[str, object]) -> bool:
    try:
        # /readyz is public; a loopback probe needs no CA (the kubeconfig carries it).
        response = httpx.get(f"{state['server']}/readyz", verify=False, timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _stop(state: dict[str, object]) -> None:
    pids = state.get("pids", {})
    bin_dir = str(state.get("bin_dir", ""))
    assert isinstance(pids, dict)
    for name in _STOP_ORDER:
        pid = pids.get(name)
        if not isinstance(pid, int) or not _is_ours(pid, bin_dir):
            continue
        os.kill(pid, signal.SIGTERM)
        try:
            eventually(functools.partial(_gone, pid, bin_dir), 10, f"{name} to stop")
        except TimedOut:
            os.kill(pid, signal.SIGKILL)
        _say(f"stopped {name} (pid {pid})")


def up(nodes: int) -> int:
    state = _load_state()
    if state and _running(state):
        _say(f"already running at {state['server']}")
        print(state["kubeconfig"])
        return 0
    if state:
        _stop(state)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    bin_dir = tools_bin_dir() if tools_built() else build_tools()
    started = time.monotonic()
    cluster = LocalCluster(bin_dir, workdir=STATE_DIR, nodes=nodes, detach=True)
    try:
        cluster.start()
    except ClusterError as exc:
        _say(f"start-up failed, logs in {cluster.logs_dir}:\n{exc}")
        return 1
    pids = cluster.pids
    cluster.release()
    STATE_FILE.write_text(
        json.dumps(
            {
                "server": cluster.server,
                "kubeconfig": str(cluster.kubeconfig),
                "bin_dir": str(bin_dir),
                "pids": pids,
                "logs": str(cluster.logs_dir),
            },
            indent=2,
        )
    )
    _say(f"up in {time.monotonic() - started:.1f}s at {cluster.server} with {nodes} fake nodes")
    _say(f"try: {bin_dir / 'kubectl'} --kubeconfig {cluster.kubeconfig} get nodes")
    print(cluster.kubeconfig)
    return 0


def down() -> int:
    state = _load_state()
    if state is None:
        _say("no cluster recorded in .run/cluster")
        return 0
    _stop(state)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    return 0


def env() -> int:
    state = _load_state()
    kubeconfig = state["kubeconfig"] if state else STATE_DIR / "kubeconfig"
    print(f"export KUBECONFIG={kubeconfig}")
    print(f"export PATH={tools_bin_dir()}:$PATH")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m euglena_devkit.cluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="build the tools if needed and start a detached cluster")
    up_parser.add_argument("--nodes", type=int, default=int(os.environ.get("CLUSTER_NODES", "2")))
    sub.add_parser("down", help="stop the cluster recorded in .run/cluster")
    sub.add_parser("env", help="print shell exports for KUBECONFIG and PATH (kubectl, helm)")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.nodes)
    if args.command == "down":
        return down()
    return env()
